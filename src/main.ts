/** Process entry: load config, build the app, serve, shut down cleanly on SIGINT/SIGTERM. */
import { ConfigError, loadConfig } from './config/index.js';
import { DataDirLockedError } from './db/embedded.js';
import { buildApp } from './app.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await buildApp(config);
  await app.start();
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.deps.logger.info({ module: 'system', signal, timeout_ms: config.shutdownTimeoutMs }, 'shutting down');
    // The stop sequence keeps within this budget by itself; this is the backstop if something hangs.
    const force = setTimeout(() => {
      process.stderr.write(`鲸落: shutdown did not finish within ${config.shutdownTimeoutMs} ms, exiting\n`);
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    app.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err) => {
  if (err instanceof ConfigError || err instanceof DataDirLockedError) {
    process.stderr.write(`鲸落 cannot start: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  process.stderr.write(`鲸落 failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
