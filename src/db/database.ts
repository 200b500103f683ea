/**
 * Opens the platform's own database: PostgreSQL at DATABASE_URL, or the embedded one under DATA_DIR.
 * Applies pending migrations before anything else touches it.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import type { Config } from '../config/index.js';
import { startEmbeddedPostgres } from './embedded.js';
import { migrate } from './migrations.js';
import { isDatabaseUnavailable } from '../lib/errors.js';

export interface Database {
  prisma: PrismaClient;
  /** Plain pg pool on the same database, for the few hot paths and health checks that bypass Prisma. */
  pool: pg.Pool;
  url: string;
  embedded: boolean;
  close(): Promise<void>;
}

/**
 * Settings of every pool on the platform database. Without a connect timeout, pg waits for a TCP
 * connect (a server restarting, a dropped SYN) or a free pooled client for ever, and every request
 * waits with it; with it, requests fail fast with a 503 while PostgreSQL is away and succeed again by
 * themselves once it is back (pg-pool discards the clients whose connection broke). The query
 * deadline covers a server that stops answering on an open connection.
 */
export function platformPoolConfig(config: Pick<Config, 'databaseConnectTimeoutMs' | 'databaseQueryTimeoutMs'>, url: string, max: number): pg.PoolConfig {
  return {
    connectionString: url,
    max,
    connectionTimeoutMillis: config.databaseConnectTimeoutMs,
    query_timeout: config.databaseQueryTimeoutMs || undefined,
    keepAlive: true,
  };
}

export async function openDatabase(config: Config, log: (msg: string) => void): Promise<Database> {
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir);
  const url = config.databaseUrl ?? embedded!.url;
  try {
    if (embedded) log(`no DATABASE_URL: using the embedded PostgreSQL in ${config.dataDir}`);
    else await waitForDatabase(url, config, log);
    const { applied } = await migrate(url, log);
    if (applied.length) log(`database schema up to date (${applied.length} migration(s) applied)`);
    const prismaPool = new pg.Pool(platformPoolConfig(config, url, config.databasePoolSize));
    const pool = new pg.Pool(platformPoolConfig(config, url, config.databasePoolSize));
    // An idle client losing its connection (server restart) must not crash the process.
    prismaPool.on('error', () => {});
    pool.on('error', () => {});
    const prisma = new PrismaClient({ adapter: new PrismaPg(prismaPool) });
    return {
      prisma,
      pool,
      url,
      embedded: Boolean(embedded),
      close: async () => {
        await prisma.$disconnect().catch(() => {});
        await prismaPool.end().catch(() => {});
        await pool.end().catch(() => {});
        await embedded?.close();
      },
    };
  } catch (err) {
    await embedded?.close();
    throw err;
  }
}

/**
 * Start-up waits for a database that is not reachable yet (a server still starting, a container
 * started before its database), retrying with backoff up to DATABASE_STARTUP_TIMEOUT_MS, instead of
 * exiting at once. Errors that waiting cannot fix (wrong password, unknown database) fail at once.
 */
export async function waitForDatabase(url: string, config: Pick<Config, 'databaseConnectTimeoutMs' | 'databaseStartupTimeoutMs'>, log: (msg: string) => void): Promise<void> {
  const deadline = Date.now() + config.databaseStartupTimeoutMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: config.databaseConnectTimeoutMs });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (err) {
      if (!isDatabaseUnavailable(err) || Date.now() + delay > deadline) throw err;
      log(`platform database not reachable yet (${(err as Error).message || (err as { code?: string }).code}), retrying in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
    } finally {
      await client.end().catch(() => {});
    }
  }
}
