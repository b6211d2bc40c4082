#!/usr/bin/env node
// Entry point for `npx conflux`: Node 24 runs the TypeScript sources directly (type stripping).
await import('../src/main.ts');
