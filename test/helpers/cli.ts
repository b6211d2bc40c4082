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

export function runCli(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: childEnv(env),
      cwd: env.CWD ?? process.cwd(),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`conflux ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface RunningServer {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<Finished>;
}

/** Starts `conflux serve` and resolves once it logs that it is ready (with its URL). */
export function startCliServer(env: Record<string, string>, timeoutMs = 60_000): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'serve'], {
      env: childEnv({ PORT: '0', HOST: '127.0.0.1', ...env }),
    });
    let stdout = '';
    let stderr = '';
    let ready = false;
    const exited = new Promise<Finished>((res) =>
      child.on('exit', (code, signal) => res({ code, signal, stdout, stderr })),
    );
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server not ready in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /ready at (http:\/\/[^\s)]+)/.exec(stdout);
      if (m && !ready) {
        ready = true;
        clearTimeout(timer);
        resolve({ child, url: m[1]!, output: () => stdout + stderr, exited });
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    void exited.then((f) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`server exited (${f.code}) before ready\n${f.stdout}\n${f.stderr}`));
      }
    });
  });
}
