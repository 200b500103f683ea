/**
 * Start-up of a real gateway process while its database is not reachable yet: it waits (retrying
 * with backoff, DATABASE_STARTUP_TIMEOUT_MS) and starts once the database answers; it gives up with
 * exit code 1 after the timeout; and it exits at once on errors that waiting cannot fix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway, sharedStores, type GatewayProcess } from '../helpers/gateway-process.js';
import { call } from '../helpers/http.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { PG_ADMIN_URL } from '../helpers/env.js';

let stores: Awaited<ReturnType<typeof sharedStores>>;
let proxy: TcpProxy;
const started: GatewayProcess[] = [];

beforeAll(async () => {
  stores = await sharedStores();
  proxy = await startTcpProxy({ targetPort: Number(new URL(PG_ADMIN_URL).port || 5432) });
});
afterAll(async () => {
  for (const g of started) await g.kill();
  await proxy?.close();
  await stores?.drop();
});

describe('start-up without a reachable database', () => {
  it('waits for the database and starts once it answers', { timeout: 90_000 }, async () => {
    await proxy.cut(); // connections refused, as while PostgreSQL is still starting
    let retried!: () => void;
    const retrying = new Promise<void>((r) => (retried = r));
    const starting = spawnGateway({ DATABASE_URL: proxy.url(stores.databaseUrl), REDIS_KEY_PREFIX: stores.redisPrefix, DATABASE_STARTUP_TIMEOUT_MS: '60000' }, 60_000, {
      onOutput: (out) => /retrying in \d+ ms[\s\S]*retrying in \d+ ms/.test(out) && retried(),
    });
    await retrying; // two attempts refused: it is waiting, not exiting
    await proxy.resume();
    const g = await starting;
    started.push(g);
    expect(g.output()).toMatch(/platform database not reachable yet \(.*ECONNREFUSED.*\), retrying in \d+ ms/);
    expect((await call(g.url, 'GET', '/readyz')).status).toBe(200);
  });

  it('gives up after DATABASE_STARTUP_TIMEOUT_MS with exit code 1 and the reason', { timeout: 60_000 }, async () => {
    await proxy.cut();
    try {
      const t0 = Date.now();
      const failed = await spawnGateway({ DATABASE_URL: proxy.url(stores.databaseUrl), REDIS_KEY_PREFIX: stores.redisPrefix, DATABASE_STARTUP_TIMEOUT_MS: '2000' }).then(
        (g) => (started.push(g), 'listening'),
        (err: Error) => err.message,
      );
      expect(failed).toMatch(/gateway exited \(1\) before listening/);
      expect(failed).toMatch(/鲸落 failed to start: .*ECONNREFUSED/);
      expect(Date.now() - t0).toBeGreaterThan(1500);
    } finally {
      await proxy.resume();
    }
  });

  it('exits at once when waiting cannot help (the database does not exist)', { timeout: 60_000 }, async () => {
    const missing = new URL(stores.databaseUrl);
    missing.pathname = '/whalefall_no_such_database';
    const failed = await spawnGateway({ DATABASE_URL: missing.toString(), REDIS_KEY_PREFIX: stores.redisPrefix, DATABASE_STARTUP_TIMEOUT_MS: '600000' }).then(
      (g) => (started.push(g), 'listening'),
      (err: Error) => err.message,
    );
    expect(failed).toMatch(/鲸落 failed to start: database "whalefall_no_such_database" does not exist/);
    expect(failed).not.toMatch(/retrying/);
  });
});
