/**
 * The `conflux` command. Kept small on purpose: the process may re-execute itself first (below),
 * the compile cache must be on before the rest of the code loads, and `serve` starts opening the
 * embedded database before it does (see `early-start.ts`); hence the dynamic imports.
 */
import module from 'node:module';

/**
 * glibc keeps much of what V8's compiler threads free: compiling the embedded database's
 * WebAssembly leaves some 50–70 MB resident that nothing uses again. A trim threshold makes
 * `free()` hand such memory back. glibc reads it only at process start, so on Linux the process
 * re-executes itself once with it set (same pid, same arguments; about 30 ms). Any `MALLOC_*`
 * variable of the user's own, or CONFLUX_REEXEC=0, leaves the process as it is.
 */
function reexecWithMallocSettings(): void {
  if (process.platform !== 'linux' || typeof process.execve !== 'function') return;
  if (process.env.CONFLUX_REEXEC !== undefined) return;
  if (Object.keys(process.env).some((k) => k.startsWith('MALLOC_'))) return;
  process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    ...process.env,
    CONFLUX_REEXEC: '1',
    MALLOC_TRIM_THRESHOLD_: String(128 * 1024),
  });
}

reexecWithMallocSettings();

// Compiled code of every module is cached (in the system's temp directory, or NODE_COMPILE_CACHE):
// later starts skip most of the parsing and compiling. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
module.enableCompileCache?.();

const args = process.argv.slice(2);
const { startEarly } = await import('./early-start.ts');
const early = startEarly(args);
const { runCli } = await import('./cli.ts');
await runCli(process.argv, early);
