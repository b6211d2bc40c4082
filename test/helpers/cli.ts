/** Runs the real `conflux` CLI as a child process, as a user would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Environment for a child: only what the test sets, plus PATH/HOME (no developer settings leak in). */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  // MQTT_PORT 0: the embedded broker on a free port (this machine may run a broker on 1883).
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    MQTT_PORT: '0',
    ...env,
  };
}

/** Runs a command to its end; `input` is written to its stdin (closed either way). */
export function runCli(
  args: string[],
  env: Record<string, string>,
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<Finished> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: childEnv(env),
      cwd: env.CWD ?? process.cwd(),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`conflux ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface RunningCli {
  child: ChildProcess;
  /** What the `ready` pattern matched in the output. */
  ready: RegExpExecArray;
  /** stdout and stderr so far. */
  output: () => string;
  exited: Promise<Finished>;
  /** Sends SIGTERM and resolves with how the process ended. */
  stop: () => Promise<Finished>;
}

/**
 * Starts a long-running command (`serve`, `worker`, `simulate ...`) and resolves once its
 * stdout matches `ready`; rejects with its output if it exits or takes longer than `timeoutMs`.
 */
export function startCli(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 60_000,
): Promise<RunningCli> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: childEnv(env) });
    let stdout = '';
    let stderr = '';
    let started = false;
    const exited = new Promise<Finished>((res) =>
      child.on('close', (code, signal) => res({ code, signal, stdout, stderr })),
    );
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`conflux ${args.join(' ')} not ready in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = ready.exec(stdout);
      if (m && !started) {
        started = true;
        clearTimeout(timer);
        resolve({
          child,
          ready: m,
          output: () => stdout + stderr,
          exited,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    void exited.then((f) => {
      if (!started) {
        clearTimeout(timer);
        reject(
          new Error(`conflux ${args.join(' ')} exited (${f.code}) before ready\n${f.stdout}\n${f.stderr}`),
        );
      }
    });
  });
}

export interface RunningServer extends RunningCli {
  url: string;
}

/** Starts `conflux serve` and resolves once it logs that it is ready (with its URL). */
export async function startCliServer(
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<RunningServer> {
  const cli = await startCli(
    ['serve'],
    { PORT: '0', HOST: '127.0.0.1', ...env },
    /ready at (http:\/\/[^\s)]+)/,
    timeoutMs,
  );
  return { ...cli, url: cli.ready[1]! };
}
