/**
 * Starts the real gateway on a random port against its own fresh PostgreSQL database (created here,
 * dropped on close) and a unique Redis key prefix. Tests talk to it over real HTTP and WebSocket.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createScratchDatabase } from '../../src/db/scratch-database.js';
import { PG_ADMIN_URL, REDIS_URL } from './env.js';

export const ADMIN_PASSWORD = 'Admin12345';

export interface TestApp {
  app: App;
  url: string;
  databaseUrl: string;
  redisPrefix: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** The URL the gateway gets for its database (e.g. through a TCP proxy); `databaseUrl` stays direct. */
  gatewayDatabaseUrl?: (url: string) => string;
  /** Where the gateway's stdout log lines go (default: nowhere). */
  stdout?: NodeJS.WritableStream;
  /** Runs on the new database (its direct URL) before the gateway starts, e.g. to change its owner. */
  prepareDatabase?: (url: string) => Promise<void>;
}

export async function startTestApp(env: Record<string, string | undefined> = {}, opts: TestAppOptions = {}): Promise<TestApp> {
  const db = await createScratchDatabase(PG_ADMIN_URL, 'whalefall_test');
  await opts.prepareDatabase?.(db.url);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wf-test-'));
  const redisPrefix = `wftest:${randomBytes(4).toString('hex')}:`;
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: opts.gatewayDatabaseUrl ? opts.gatewayDatabaseUrl(db.url) : db.url,
    DATA_DIR: dataDir,
    REDIS_URL,
    REDIS_KEY_PREFIX: redisPrefix,
    JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
    // Replicas share the key, as they must in production (a generated key is per data directory).
    CREDENTIAL_ENCRYPTION_KEY: '5ad1a7c0ffee5ad1a7c0ffee5ad1a7c0ffee5ad1a7c0ffee5ad1a7c0ffee0001',
    WHALEFALL_ADMIN_PASSWORD: ADMIN_PASSWORD,
    LOG_LEVEL: 'silent',
    LOGIN_RATE_LIMIT_PER_IP: '1000',
    LOGIN_RATE_LIMIT_PER_USER: '1000',
    // Every test client is 127.0.0.1: generous API budgets (tests of the limits set their own).
    API_RATE_LIMIT_PER_IP: '1000000',
    API_RATE_LIMIT_PER_USER: '1000000',
    ...env,
  });
  let app: App;
  try {
    app = await buildApp(config, { stdout: opts.stdout ?? null });
  } catch (err) {
    await db.drop();
    throw err;
  }
  const url = await app.start(0);
  return {
    app,
    url,
    databaseUrl: db.url,
    redisPrefix,
    close: async () => {
      await app.stop();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
