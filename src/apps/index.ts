import type { AppManifest } from '../platform/app.ts';
import { grid } from './grid/index.ts';
import { bench } from './bench/index.ts';
import { archeryApp } from './archery/index.ts';

/**
 * Every app that exists, in mount order. An app adds itself here with one import; the
 * platform never imports an app anywhere else.
 */
export const ALL_APPS: readonly AppManifest[] = [grid, bench, archeryApp];
