/**
 * The `conflux` command line: serve | migrate | config | simulate <app> | <app> <command>.
 * Reads the configuration once here (or takes the one `serve` read early, see `main.ts`) and
 * hands it to the composition root.
 */
import { Command } from 'commander';
import pino, { type Logger } from 'pino';
import { ConfigError, describeConfig, environmentWithDotenv, loadConfig, type Config } from './config.ts';
import { ALL_APPS } from './apps/index.ts';
import { AppError } from './platform/errors.ts';
import { registerUserCommands } from './platform/auth/cli.ts';
import { wholeNumber } from './platform/cli-options.ts';
import { createLogger } from './platform/log.ts';
import { StartupError, VERSION, openCore, startServer, startWorker } from './server.ts';
import type { EarlyStart } from './early-start.ts';

/**
 * The configuration and the logger. `command`: a one-shot command (`users`, `<app> <command>`),
 * whose output is for the person at the terminal, so the platform logs only warnings, on stderr,
 * unless LOG_LEVEL asks for more.
 */
function configOrExit(command = false): { config: Config; log: Logger } {
  const env = environmentWithDotenv();
  const config = loadConfig(env);
  if (!command) return { config, log: createLogger({ level: config.logLevel }) };
  const level = env.LOG_LEVEL === undefined ? 'warn' : config.logLevel;
  return { config, log: createLogger({ level, destination: pino.destination(2) }) };
}

/** Turns a startup failure into one clear line on stderr and a non-zero exit. */
function fail(e: unknown): never {
  if (e instanceof ConfigError) {
    process.stderr.write(`conflux: ${e.message}\n`);
    process.exit(2);
  }
  if (e instanceof StartupError) {
    process.stderr.write(`conflux: ${e.variable ? `${e.variable}: ` : ''}${e.message}\n`);
    process.exit(1);
  }
  if (e instanceof AppError) {
    process.stderr.write(`conflux: ${e.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`conflux: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
}

/** Where the database and the objects are, for the start-up lines of `serve` and `worker`. */
function whereDataLives(config: Config): { database: string; objects: string } {
  return {
    database:
      config.database.url === null ? `embedded PGlite in ${config.dataDir}/pg` : 'PostgreSQL (DATABASE_URL)',
    objects:
      config.objects.kind === 's3'
        ? `S3 bucket ${config.objects.bucket} at ${config.objects.s3.endpoint ?? 'AWS'}`
        : `files in ${config.dataDir}/objects`,
  };
}

/** SIGTERM/SIGINT stop gracefully (bounded by SHUTDOWN_TIMEOUT_MS); a second signal exits at once. */
function onSignals(stop: () => Promise<void>, timeoutMs: number, log: Logger) {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/** Builds the command line and runs the command `argv` names. */
export async function runCli(argv: readonly string[], early: EarlyStart | null): Promise<void> {
  const program = new Command()
    .name('conflux')
    .description('Five backends on one platform: grid, bench, archery, trials and evals.')
    .version(VERSION);

  program
    .command('serve', { isDefault: true })
    .description('run the HTTP API, consumers, live channel and background work')
    .action(async () => {
      try {
        const { config, log } = early ?? configOrExit();
        const server = await startServer(config, log, early ? { opening: early.opening } : {});
        onSignals(server.stop, config.shutdownTimeoutMs, log);
        const apps = server.core.apps.map((a) => `${a.name} at ${a.prefix}`).join(', ') || 'none';
        if (config.jobs.workers === 0 && config.database.url === null)
          log.warn(
            'WORKERS=0 on the embedded database: no process runs background jobs ' +
              '(`conflux worker` needs PostgreSQL, DATABASE_URL)',
          );
        log.info(
          {
            url: server.url,
            docs: `${server.url}/docs`,
            ...whereDataLives(config),
            mqtt: server.core.mqtt
              ? `${server.core.mqtt.embedded ? 'embedded broker at ' : 'external broker '}${server.core.mqtt.url}`
              : 'off',
            dataDir: config.dataDir,
            apps,
          },
          `Conflux ${VERSION} ready at ${server.url} (docs ${server.url}/docs)`,
        );
      } catch (e) {
        fail(e);
      }
    });

  program
    .command('worker')
    .description(
      'run background jobs only (no HTTP API); any number of these may run beside `conflux serve`, ' +
        'on the same PostgreSQL (DATABASE_URL) and object store',
    )
    .option('-c, --concurrency <n>', 'jobs at once (default WORKERS, at least 1)', wholeNumber(1, 1000))
    .action(async (opts: { concurrency?: number }) => {
      try {
        const { config, log } = configOrExit();
        if (config.database.url === null) {
          throw new StartupError(
            '`conflux worker` needs a PostgreSQL database shared with the server: the embedded ' +
              `database in ${config.dataDir}/pg opens in one process only, and there \`conflux serve\` ` +
              'runs the jobs itself (WORKERS)',
            'DATABASE_URL',
          );
        }
        const concurrency = opts.concurrency ?? Math.max(1, config.jobs.workers);
        const core = await openCore(config, log);
        if (!core.apps.some((a) => a.jobs !== undefined))
          log.warn({ apps: core.apps.map((a) => a.name) }, 'none of the mounted apps has jobs (APPS)');
        const worker = await startWorker(core, concurrency);
        onSignals(
          async () => {
            await worker.stop();
            await core.stop();
          },
          config.shutdownTimeoutMs,
          log,
        );
        log.info(
          { worker: worker.workerId, concurrency, ...whereDataLives(config) },
          `job worker ${worker.workerId} running`,
        );
      } catch (e) {
        fail(e);
      }
    });

  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(async () => {
      try {
        const { config, log } = configOrExit();
        const core = await openCore(config, log, { migrate: false });
        try {
          const { runMigrations } = await import('./platform/db/migrate.ts');
          const { migrationSets } = await import('./server.ts');
          const { applied } = await runMigrations(core.db, migrationSets(core.apps), log);
          process.stdout.write(
            applied.length === 0 ? 'schema is up to date\n' : `applied ${applied.join(', ')}\n`,
          );
        } finally {
          await core.stop();
        }
      } catch (e) {
        fail(e);
      }
    });

  program
    .command('config')
    .description('print the effective configuration (secrets masked) and check it')
    .action(() => {
      const env = environmentWithDotenv();
      const rows = describeConfig(env);
      const width = Math.max(...rows.map((r) => r.name.length));
      for (const r of rows)
        process.stdout.write(
          `${r.name.padEnd(width)}  ${r.value}${r.source === 'default' ? '  (default)' : ''}\n`,
        );
      try {
        loadConfig(env);
        process.stdout.write('\nconfiguration is valid\n');
      } catch (e) {
        fail(e);
      }
    });

  registerUserCommands(program, async () => {
    const { config, log } = configOrExit(true);
    return openCore(config, log);
  });

  const simulate = program.command('simulate').description('run an app’s device or sensor simulator');
  for (const app of ALL_APPS) {
    if (app.simulator) app.simulator(simulate.command(app.name));
    if (app.commands) {
      const group = program.command(app.name).description(`${app.name} commands`);
      app.commands(group, async () => {
        const { config, log } = configOrExit(true);
        return openCore(config, log);
      });
    }
  }

  await program.parseAsync(argv).catch(fail);
}
