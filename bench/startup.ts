/**
 * Startup: time from `conflux serve` being spawned to its "ready" line, on a new data directory
 * and on an existing one, plus idle RSS. A new data directory is timed twice: as `npm install &&
 * npm start` gives it (a copy of the cluster template the install prepared, then migrations) and
 * without the template (initdb, as when install scripts were skipped). Baseline in the same run: a
 * bare Node HTTP server started the same way. Targets: first < 5 s, later < 1.5 s, idle RSS < 250 MB.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultTemplateDir, hasTemplate } from '../src/platform/db/pglite-template.ts';
import { table } from './util.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

interface Start {
  readyMs: number;
  rssMb: number;
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function timeStart(args: string[], env: NodeJS.ProcessEnv, readyPattern: RegExp): Promise<Start> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const readyMs = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (readyPattern.test(out)) resolve(performance.now() - t0);
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`exited ${code} before ready:\n${out}`)));
  });
  await new Promise((r) => setTimeout(r, 2000)); // let start-up garbage settle before reading RSS
  const rssMb = rssOf(child.pid!);
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await exited;
  return { readyMs, rssMb };
}

export default async function startup(args: string[]) {
  const runs = Number(args[0] ?? 3);
  const base: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: '0',
    MQTT_PORT: '0', // embedded broker on a free port: this machine may run a broker on 1883
    HOST: '127.0.0.1',
  };
  const ready = /ready at http/;
  const rows: Record<string, string | number>[] = [];
  const baseline: Start[] = [];
  const fresh: Start[] = [];
  const initdb: Start[] = [];
  const existing: Start[] = [];
  const template = hasTemplate(defaultTemplateDir());
  for (let i = 0; i < runs; i++) {
    baseline.push(
      await timeStart(
        [
          '-e',
          "require('node:http').createServer((q,s)=>s.end()).listen(0,()=>console.log('ready at http'))",
        ],
        base,
        ready,
      ),
    );
    const dir = mkdtempSync(path.join(os.tmpdir(), 'conflux-bench-startup-'));
    try {
      fresh.push(await timeStart([MAIN, 'serve'], { ...base, DATA_DIR: dir }, ready));
      existing.push(await timeStart([MAIN, 'serve'], { ...base, DATA_DIR: dir }, ready));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const bare = mkdtempSync(path.join(os.tmpdir(), 'conflux-bench-startup-'));
    try {
      initdb.push(
        await timeStart([MAIN, 'serve'], { ...base, DATA_DIR: bare, EMBEDDED_DB_TEMPLATE: 'false' }, ready),
      );
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const b = median(baseline.map((s) => s.readyMs));
  for (const [name, starts, target] of [
    ['bare node http (baseline)', baseline, ''],
    [
      `conflux, new data dir${template ? ' (install template)' : ' (no template: initdb)'}`,
      fresh,
      '< 5000 ms',
    ],
    ['conflux, new data dir without template (initdb)', initdb, '< 5000 ms'],
    ['conflux, existing data dir', existing, '< 1500 ms'],
  ] as const) {
    const ms = median(starts.map((s) => s.readyMs));
    rows.push({
      case: name,
      'ready ms (median)': Math.round(ms),
      'x baseline': ms / b,
      'idle RSS MB': Math.round(median(starts.map((s) => s.rssMb))),
      target,
    });
  }
  process.stdout.write(`startup, ${runs} runs each (target idle RSS < 250 MB)\n${table(rows)}\n`);
  if (!template)
    process.stdout.write(
      '(no install template: `npm install` prepares it; npm run postinstall makes it now)\n',
    );
  return rows;
}
