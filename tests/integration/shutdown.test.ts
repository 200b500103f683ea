/**
 * SIGTERM to a real gateway process with work in flight: a sync request waiting for its session (the
 * managed instance answers slowly, through a latency proxy), a live graphql-ws subscription and a
 * running scheduler. The process stops accepting connections at once, lets the request finish,
 * closes the WebSocket with 1001 (going away), stops the scheduler (locks released), closes its
 * pools and exits 0 within SHUTDOWN_TIMEOUT_MS.
 */
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway, sharedStores, type GatewayProcess } from '../helpers/gateway-process.js';
import { call, login, registerSecret } from '../helpers/http.js';
import { createManagedPostgres, registerInstanceViaApi } from '../helpers/managed.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { watchLogs } from '../helpers/live.js';
import { waitFor } from '../helpers/scheduler-helpers.js';
import { PG_ADMIN_URL } from '../helpers/env.js';

const SHUTDOWN_TIMEOUT_MS = 20_000;

let stores: Awaited<ReturnType<typeof sharedStores>>;
let managed: Awaited<ReturnType<typeof createManagedPostgres>>;
let slow: TcpProxy;
let g: GatewayProcess | undefined;

beforeAll(async () => {
  stores = await sharedStores();
  managed = await createManagedPostgres();
  registerSecret(managed.password);
  // Every packet to and from the managed server waits: its sync takes a few seconds.
  slow = await startTcpProxy({ targetPort: Number(new URL(PG_ADMIN_URL).port || 5432), latencyMs: 150 });
});
afterAll(async () => {
  await g?.kill();
  await slow?.close();
  await managed?.drop();
  await stores?.drop();
});

/** Whether a new TCP connection to the port is refused (nothing listens any more). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

describe('SIGTERM', () => {
  it('stops accepting, finishes the in-flight request, closes WebSockets with 1001, stops the scheduler and exits 0', { timeout: 120_000 }, async () => {
    g = await spawnGateway({
      DATABASE_URL: stores.databaseUrl,
      REDIS_KEY_PREFIX: stores.redisPrefix,
      SCHEDULER_PROCESS_EVERY_MS: '200',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      AUTO_CLASSIFY_AFTER_SYNC: 'false',
    });
    const token = (await login(g.url)).access_token;
    const instanceId = await registerInstanceViaApi(g.url, token, {
      name: `${managed.prefix}slow`,
      dbType: 'postgresql',
      port: slow.port,
      database: managed.database,
      username: managed.username,
      password: managed.password,
    });
    // The scheduler is busy: a job fires every second.
    const job = await call(g.url, 'POST', '/api/jobs', { token, json: { name: 'tick', task_type: 'cleanup_logs', schedule: '* * * * * *', params: { days: 30 } } });
    expect(job.status).toBe(201);
    await waitFor(async () => (await call(g!.url, 'GET', `/api/jobs/${job.body.data.id}/runs`, { token })).body.data?.some((r: any) => r.status === 'success'), 15_000);

    const watcher = watchLogs(g.url, token, 'nothing_in_particular');
    await watcher.connected;
    const inFlight = call(g.url, 'POST', `/api/instances/${instanceId}/sync?wait=true`, { token });
    // The request is in flight once its session runs.
    await waitFor(async () => (await call(g!.url, 'GET', '/api/sessions?status=running', { token })).body.data?.length > 0, 10_000, 50);

    const signalledAt = Date.now();
    g.child.kill('SIGTERM');

    // New connections are refused at once, while the request is still being served.
    await waitFor(() => refused(g!.port), 3000, 20);
    const refusedAt = Date.now();
    const close = await watcher.closed;
    expect(close.code).toBe(1001);

    const res = await inFlight;
    const answeredAt = Date.now();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'completed', successful_instances: 1, failed_instances: 0 });
    expect(res.body.data.instance_records[0].accounts_synced).toBeGreaterThanOrEqual(4);
    expect(refusedAt).toBeLessThan(answeredAt); // refused while the request was still in flight

    const exit = await g.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    expect(g.output()).toMatch(/调度器已停止/);
    expect(g.output()).not.toMatch(/did not finish within/);

    // Nothing left behind: no job locked, no run or session still marked running.
    const db = new pg.Client({ connectionString: stores.databaseUrl });
    await db.connect();
    try {
      expect((await db.query(`SELECT name, locked_at, next_run_at, last_run_at, last_finished_at, last_modified_by FROM agenda_jobs WHERE locked_at IS NOT NULL`)).rows, String(signalledAt)).toEqual([]);
      expect((await db.query(`SELECT count(*)::int AS n FROM job_runs WHERE status = 'running'`)).rows[0].n).toBe(0);
      expect((await db.query(`SELECT count(*)::int AS n FROM sync_sessions WHERE status = 'running'`)).rows[0].n).toBe(0);
      // The pools were closed (a killed process's backends would linger until PostgreSQL noticed).
      await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)).rows[0].n === 0, 3000);
    } finally {
      await db.end();
    }
  });
});
