// The command line of `spiderpool-operator`: configuration, logging, signals.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { loadConfig, usage } from './config/index.js';
import { operatorLogger } from './observability/log.js';
import { type RunOptions, runOperator } from './run.js';

/** Runs until SIGTERM/SIGINT; exit code 2 for bad flags or configuration. */
export async function main(argv: string[], extra: Partial<RunOptions> = {}): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({
      argv,
      env: process.env,
      readFile: (p) => readFileSync(p, 'utf8'),
      hostname: hostname(),
      pid: process.pid,
    });
  } catch (err) {
    process.stderr.write(`spiderpool-operator: ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (config.help) {
    process.stdout.write(usage());
    return;
  }
  const log = operatorLogger(config.logLevel);
  process.on('unhandledRejection', (reason) => log.error('unhandled promise rejection', { error: reason }));
  process.on('uncaughtException', (err) => {
    log.error('uncaught exception; exiting', { error: err, stack: err.stack });
    process.exit(1);
  });
  log.info('starting', {
    identity: config.identity,
    namespace: config.namespace,
    leaderElect: config.leaderElect,
  });

  let running: Awaited<ReturnType<typeof runOperator>> | undefined;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log.warn('second signal; exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    log.info('shutting down', { signal });
    const done = running ? running.stop() : Promise.resolve();
    done.then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { error: err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  running = await runOperator(config, { log, ...extra });
  log.info('running', { ports: running.ports });
  if (stopping) await running.stop();
}
