/**
 * CPU time per component of a benchmark, read from /proc (Linux): this process's main thread,
 * its other threads (worker threads, GC helpers, libuv pool), and other processes by command
 * name (postgres backends, mosquitto). On a 2-core machine every component competes for the same
 * cores, so the CPU each one spends per message says more than a rate does. Elsewhere the
 * snapshot is empty and the figures are left out.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_S = 0.01; // USER_HZ is 100 on every Linux the benchmarks run on

/** utime + stime of one /proc stat file, in seconds. */
function statSeconds(file: string): number | null {
  try {
    const text = readFileSync(file, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_S;
  } catch {
    return null;
  }
}

function comm(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

export type CpuSnapshot = Map<string, number>;

/**
 * Seconds of CPU so far: `main` (this thread), `threads` (this process's others) and, for each name
 * in `commands`, one entry per running process of that name (`cpuPer` sums them by name).
 */
export function cpuSnapshot(commands: readonly string[] = ['postgres', 'mosquitto']): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  const self = String(process.pid);
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${self}/task`);
  } catch {
    return out;
  }
  let threads = 0;
  for (const tid of tids) {
    const s = statSeconds(`/proc/${self}/task/${tid}/stat`) ?? 0;
    if (tid === self) out.set('main', s);
    else threads += s;
  }
  out.set('threads', threads);
  for (const c of commands) out.set(c, 0);
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || pid === self) continue;
    const name = comm(pid);
    if (!commands.includes(name)) continue;
    // Gone between reading its name and its times: left out, like one that exited before.
    const seconds = statSeconds(`/proc/${pid}/stat`);
    if (seconds !== null) out.set(`${name}\0${pid}`, seconds);
  }
  return out;
}

/**
 * CPU microseconds per unit of work between two snapshots, by component. Processes are matched by
 * pid: one that started in between counts from zero, one that exited in between (say a previous
 * run's broker) is left out instead of subtracting its whole lifetime.
 */
export function cpuPer(before: CpuSnapshot, after: CpuSnapshot, units: number): Record<string, number> {
  const seconds = new Map<string, number>();
  for (const [k, v] of after) {
    const name = k.split('\0')[0]!;
    seconds.set(name, (seconds.get(name) ?? 0) + v - (before.get(k) ?? 0));
  }
  const out: Record<string, number> = {};
  for (const [k, v] of seconds) out[k] = Math.round((v / units) * 1e6 * 10) / 10;
  return out;
}
