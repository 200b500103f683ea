/**
 * The real gateway for a benchmark: its own scratch PostgreSQL database and Redis key prefix, built
 * in this process, listening on a random port, with an admin token obtained over HTTP. Everything
 * is undone by the Cleanup it registers with.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { BENCH_REDIS_URL, createBenchDatabase, type Cleanup } from './scratch.js';

export const BENCH_ADMIN_PASSWORD = 'BenchAdmin12345';

export interface BenchGateway {
  app: App;
  url: string;
  databaseUrl: string;
  token: string;
}

export async function startBenchGateway(cleanup: Cleanup, env: Record<string, string> = {}): Promise<BenchGateway> {
  const db = await createBenchDatabase();
  cleanup.add('drop scratch database', db.drop);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wf-bench-'));
  cleanup.add('remove data dir', () => rmSync(dataDir, { recursive: true, force: true }));
  const redisPrefix = `wfbench:${randomBytes(4).toString('hex')}:`;
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    REDIS_URL: BENCH_REDIS_URL,
    REDIS_KEY_PREFIX: redisPrefix,
    JWT_SECRET: 'bench-secret-that-is-long-enough-0123456789',
    WHALEFALL_ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
    SCHEDULER_ENABLED: 'false',
    LOGIN_RATE_LIMIT_PER_IP: '1000000',
    LOGIN_RATE_LIMIT_PER_USER: '1000000',
    API_RATE_LIMIT_PER_USER: '10000000',
    API_RATE_LIMIT_PER_IP: '10000000',
    ...env,
  });
  const app = await buildApp(config, { stdout: process.env.BENCH_LOG_LEVEL ? process.stderr : null });
  cleanup.add('stop gateway', app.stop);
  cleanup.add('delete Redis keys', async () => {
    const redis = app.deps.redis;
    if (!redis) return;
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${redisPrefix}*`, count: 500 })) keys.push(...(batch as string[]));
    if (keys.length) await redis.del(...keys);
  });
  const url = await app.start(0);
  const res = await fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: BENCH_ADMIN_PASSWORD }),
  });
  const body = (await res.json()) as { data?: { access_token?: string } };
  if (res.status !== 200 || !body.data?.access_token) throw new Error(`login failed: ${res.status} ${JSON.stringify(body)}`);
  return { app, url, databaseUrl: db.url, token: body.data.access_token };
}

/** p-th percentile (0–100) of a sample, nearest-rank. */
export function percentile(sample: number[], p: number): number {
  if (sample.length === 0) return NaN;
  const sorted = [...sample].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Runs `fn` n times one after another (after `warmup` discarded runs); returns each run's ms. */
export async function timeSequential(n: number, warmup: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}
