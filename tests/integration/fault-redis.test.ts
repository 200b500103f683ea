/**
 * Redis going away under two replicas, through a TCP proxy (the shared Redis is never touched). The
 * documented fallback: nothing fails and nothing waits on Redis — health says degraded (readiness
 * stays ready: Redis is optional), rate limits are counted in-process, live events reach this
 * replica's own subscribers, caches are skipped. When Redis is back, the cross-replica features work
 * again by themselves: events cross replicas, rate limits are global.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, login } from '../helpers/http.js';
import { startReplica, sleep, type Replica } from '../helpers/scheduler-helpers.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { watchLogs } from '../helpers/live.js';
import { REDIS_URL } from '../helpers/env.js';

const LIMIT = 4;
/** Anything that waited on Redis (ioredis' offline queue, a 2 s connect timeout) would show here. */
const PROMPT_MS = 1500;

let proxy: TcpProxy;
let a: TestApp;
let b: Replica;
let token: string;

beforeAll(async () => {
  proxy = await startTcpProxy({ targetPort: Number(new URL(REDIS_URL).port || 6379) });
  const env = { REDIS_URL: proxy.url(REDIS_URL), TRUST_PROXY: 'true', LOGIN_RATE_LIMIT_PER_IP: String(LIMIT) };
  a = await startTestApp(env);
  b = await startReplica(a.databaseUrl, a.redisPrefix, env);
  token = (await login(a.url)).access_token;
});
afterAll(async () => {
  await proxy?.resume();
  await b?.close();
  await a?.close();
  await proxy?.close();
});

/** Login attempts from one client address (X-Forwarded-For: the gateways trust the proxy header). */
async function attempt(url: string, ip: string) {
  const started = Date.now();
  const res = await call(url, 'POST', '/auth/login', { json: { username: 'admin', password: 'Admin12345' }, headers: { 'x-forwarded-for': ip } });
  return { status: res.status, ms: Date.now() - started };
}

async function writeLog(app: { app: TestApp['app'] }, message: string) {
  app.app.deps.logger.warn({ module: 'fx_redis' }, message);
  await app.app.deps.logSink.flush();
}

/** Writes from `from` until the watcher on the other replica has seen one (Redis reconnects in steps). */
async function crossesReplicas(from: { app: TestApp['app'] }, seen: () => string[], tag: string) {
  for (let i = 0; i < 30; i++) {
    await writeLog(from, `${tag}-${i}`);
    await sleep(300);
    if (seen().some((m) => m.startsWith(tag))) return true;
  }
  return false;
}

describe('Redis unavailable', () => {
  it('degrades to in-process fallbacks while it is away and shares state across replicas again once it is back', { timeout: 90_000 }, async () => {
    const watcher = watchLogs(a.url, token, 'fx_redis');
    try {
      await vi.waitFor(() => expect(a.app.deps.logStream.size).toBe(1), { timeout: 10_000 });
      // Before: an entry written by replica B reaches a subscriber of replica A.
      await writeLog(b, 'before-from-b');
      await vi.waitFor(() => expect(watcher.messages()).toContain('before-from-b'), { timeout: 10_000 });

      await proxy.cut();
      await vi.waitFor(() => expect(a.app.deps.redis!.status).not.toBe('ready'), { timeout: 5000 });

      const health = await call(a.url, 'GET', '/health/detailed');
      expect(health.status).toBe(200);
      expect(health.body.data).toMatchObject({ status: 'degraded', database: 'connected', redis: 'disconnected' });
      expect((await call(a.url, 'GET', '/health/readiness')).status).toBe(200);

      // Rate limits keep working, counted by this replica alone, and nothing waits for Redis.
      const during = [];
      for (let i = 0; i < LIMIT + 2; i++) during.push(await attempt(a.url, '10.77.0.1'));
      expect(during.map((r) => r.status)).toEqual([...Array(LIMIT).fill(200), 429, 429]);
      for (const r of during) expect(r.ms).toBeLessThan(PROMPT_MS);

      // Cached figures: computed without the cache, promptly.
      const started = Date.now();
      expect((await call(a.url, 'GET', '/api/overview', { token })).status).toBe(200);
      expect(Date.now() - started).toBeLessThan(PROMPT_MS);

      // Live entries written on this replica still reach its own subscribers.
      await writeLog(a, 'during-from-a');
      await vi.waitFor(() => expect(watcher.messages()).toContain('during-from-a'), { timeout: 5000 });

      await proxy.resume();
      await vi.waitFor(
        async () => {
          for (const r of [a.url, b.url]) expect((await call(r, 'GET', '/health/detailed')).body.data.status).toBe('healthy');
        },
        { timeout: 20_000, interval: 250 },
      );

      // After: events cross replicas again…
      expect(await crossesReplicas(b, () => watcher.messages(), 'after-from-b')).toBe(true);
      // …and the limit is global again: attempts spread over both replicas share one budget.
      const spread = [];
      for (let i = 0; i < LIMIT + 2; i++) spread.push(await attempt(i % 2 ? b.url : a.url, '10.77.0.2'));
      expect(spread.map((r) => r.status)).toEqual([...Array(LIMIT).fill(200), 429, 429]);
      expect(watcher.errors).toEqual([]);
    } finally {
      await watcher.dispose();
    }
  });
});
