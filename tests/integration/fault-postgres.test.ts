/**
 * The platform PostgreSQL going away under load, seen through a TCP proxy (the shared server itself is
 * never touched): a restart (every connection cut, new ones refused for a while) and a server that
 * stops answering without closing anything. Requests meanwhile fail fast with the documented 503,
 * readiness says not ready, and everything recovers by itself once the database is back: requests,
 * readiness, the scheduler, and the log entries written during the outage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, gql, login } from '../helpers/http.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { PG_ADMIN_URL } from '../helpers/env.js';
import { addProbe, sleep, waitFor } from '../helpers/scheduler-helpers.js';

/** Generous bound for "fails fast": the pools give up connecting after 2 s, queries after 3 s. */
const FAIL_FAST_MS = 8000;

let proxy: TcpProxy;
let t: TestApp;
let token: string;

beforeAll(async () => {
  proxy = await startTcpProxy({ targetPort: Number(new URL(PG_ADMIN_URL).port || 5432) });
  t = await startTestApp(
    { DATABASE_CONNECT_TIMEOUT_MS: '2000', DATABASE_QUERY_TIMEOUT_MS: '3000', SCHEDULER_PROCESS_EVERY_MS: '200' },
    { gatewayDatabaseUrl: (url) => proxy.url(url) },
  );
  token = (await login(t.url)).access_token;
});
afterAll(async () => {
  await proxy?.resume();
  await t?.close();
  await proxy?.close();
});

interface Outcome {
  kind: string;
  status: number | 'network-error';
  body: any;
  start: number;
  end: number;
}

/** The three kinds of reads under load: raw pg pool (users), Prisma (instances), GraphQL over Prisma. */
const REQUESTS: Array<[string, () => Promise<{ status: number; body: any }>]> = [
  ['rest-users', () => call(t.url, 'GET', '/api/users', { token })],
  ['rest-instances', () => call(t.url, 'GET', '/api/instances', { token })],
  ['graphql', () => gql(t.url, '{ instances { totalCount } users { totalCount } }', {}, token)],
];

/** `workers` clients sending requests back to back until stopped; every outcome is kept. */
function load(workers = 4) {
  const outcomes: Outcome[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = w; running; i++) {
      const [kind, send] = REQUESTS[i % REQUESTS.length]!;
      const start = Date.now();
      try {
        const r = await send();
        outcomes.push({ kind, status: r.status, body: r.body, start, end: Date.now() });
      } catch (err) {
        outcomes.push({ kind, status: 'network-error', body: String(err), start, end: Date.now() });
      }
      await sleep(20);
    }
  });
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

/** The documented 503 of each transport. */
function expectUnavailable(o: Outcome) {
  expect(o.status, `${o.kind}: ${JSON.stringify(o.body)}`).toBe(503);
  if (o.kind === 'graphql') {
    expect(o.body.errors[0]).toMatchObject({ message: '数据库连接失败，请稍后重试', extensions: { code: 'DATABASE_UNAVAILABLE', type: 'DatabaseError', status: 503 } });
  } else {
    expect(o.body).toEqual({ status: 'error', success: false, error: 'DatabaseError', message: '数据库连接失败，请稍后重试', code: 503, details: {} });
  }
}

async function readiness() {
  return call(t.url, 'GET', '/health/readiness');
}

/** Until `n` requests in a row succeed; returns how long that took. */
async function recovered(n = 12) {
  const started = Date.now();
  let streak = 0;
  await waitFor(async () => {
    const [kind, send] = REQUESTS[streak % REQUESTS.length]!;
    const r = await send();
    streak = r.status === 200 ? streak + 1 : 0;
    if (r.status !== 200 && r.status !== 503) throw new Error(`${kind} answered ${r.status}: ${JSON.stringify(r.body)}`);
    return streak >= n;
  }, 20_000, 50);
  return Date.now() - started;
}

describe('PostgreSQL restarted under load', () => {
  it('answers 503 fast during the outage, reports not ready, and recovers by itself', { timeout: 90_000 }, async () => {
    // A job that fires every 2 s and runs 1.5 s, so the outage hits it mid-run: its end cannot be
    // recorded, nor Agenda's lock released, until the database is back; then it must fire again.
    addProbe(t.app.deps.scheduler!);
    const job = await call(t.url, 'POST', '/api/jobs', { token, json: { name: 'fault-probe', task_type: 'probe', schedule: '*/2 * * * * *', params: { sleep_ms: 1500 } } });
    expect(job.status, JSON.stringify(job.body)).toBe(201);

    const traffic = load();
    await sleep(1000);
    // Cut while the job runs (it has no database work to do until it ends).
    await waitFor(async () => (await call(t.url, 'GET', `/api/jobs/${job.body.data.id}`, { token })).body.data?.running, 15_000, 50);
    const cutAt = Date.now();
    await proxy.cut();
    await sleep(3000);
    const notReady = await readiness();
    const resumeAt = Date.now();
    await proxy.resume();
    await recovered();
    await sleep(500);
    const outcomes = await traffic.stop();

    // Nothing but successes and documented 503s, none of them slow, no connection dropped.
    for (const o of outcomes) {
      expect([200, 503], `${o.kind}: ${o.status} ${JSON.stringify(o.body).slice(0, 300)}`).toContain(o.status);
      expect(o.end - o.start, `${o.kind} took ${o.end - o.start} ms`).toBeLessThan(FAIL_FAST_MS);
    }
    const during = outcomes.filter((o) => o.start > cutAt && o.end < resumeAt);
    expect(during.length).toBeGreaterThan(10);
    during.forEach(expectUnavailable);
    expect(new Set(during.map((o) => o.kind)).size).toBe(REQUESTS.length);
    expect(outcomes.filter((o) => o.end < cutAt).every((o) => o.status === 200)).toBe(true);
    const after = outcomes.filter((o) => o.start > resumeAt + 1000);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((o) => o.status === 200)).toBe(true);

    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({ status: 'error', error: 'DatabaseError', code: 503, details: { status: 'not_ready' } });
    expect((await readiness()).body.data).toEqual({ status: 'ready' });

    // The errors logged while the database was away were kept and written once it was back.
    const direct = new pg.Client({ connectionString: t.databaseUrl });
    await direct.connect();
    try {
      const logged = await waitFor(async () => {
        await t.app.deps.logSink.flush();
        const { rows } = await direct.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM unified_logs WHERE level = 'ERROR' AND message = '数据库连接失败，请稍后重试' AND "timestamp" BETWEEN $1 AND $2`,
          [new Date(cutAt), new Date(resumeAt)],
        );
        return rows[0]!.n > 0 && rows[0]!.n;
      }, 15_000);
      expect(logged).toBeGreaterThan(0);
      // And the scheduler fires again, successfully, within a few fires (not after the lock lifetime).
      await waitFor(async () => {
        const { rows } = await direct.query(`SELECT 1 FROM job_runs WHERE job_id = $1 AND status = 'success' AND started_at > $2`, [job.body.data.id, new Date(resumeAt + 500)]);
        return rows.length > 0;
      }, 20_000);
      const { rows: stuck } = await direct.query(`SELECT id FROM job_runs WHERE job_id = $1 AND status = 'running' AND started_at < $2`, [job.body.data.id, new Date(resumeAt)]);
      expect(stuck).toEqual([]);
    } finally {
      await direct.end();
    }
  });

  it('releases a job lock whose answer was lost in an outage, instead of waiting out the lock lifetime', { timeout: 60_000 }, async () => {
    // A lock query that committed while its answer was cut off leaves the job locked by this process
    // although Agenda never got it (nor ran it). Written here directly: the cut cannot be timed that finely.
    const job = await call(t.url, 'POST', '/api/jobs', { token, json: { name: 'lost-lock', task_type: 'cleanup_logs', schedule: '0 0 3 * * *', params: { days: 30 } } });
    expect(job.status).toBe(201);
    const direct = new pg.Client({ connectionString: t.databaseUrl });
    await direct.connect();
    try {
      const locked = await direct.query(
        `UPDATE agenda_jobs SET next_run_at = now(), locked_at = now() - interval '10 seconds', last_modified_by = $2 WHERE data->>'jobId' = $1 RETURNING id`,
        [job.body.data.id, t.app.deps.scheduler!.node],
      );
      expect(locked.rowCount).toBe(1);
      // Without the release the job would not fire before SCHEDULER_LOCK_LIFETIME_MS (10 minutes).
      await waitFor(async () => {
        const { rows } = await direct.query(`SELECT 1 FROM job_runs WHERE job_id = $1 AND status = 'success'`, [job.body.data.id]);
        return rows.length > 0;
      }, 20_000);
    } finally {
      await direct.end();
    }
  });

  it('fails fast when the server stops answering without closing connections, and recovers', { timeout: 60_000 }, async () => {
    await recovered(); // the pool holds open connections now: those are the ones that go silent
    const traffic = load(3);
    await sleep(500);
    const frozenAt = Date.now();
    proxy.freeze();
    await sleep(8000);
    const notReady = await readiness();
    const resumeAt = Date.now();
    await proxy.resume();
    await recovered();
    const outcomes = await traffic.stop();

    for (const o of outcomes) {
      expect([200, 503], `${o.kind}: ${o.status} ${JSON.stringify(o.body).slice(0, 300)}`).toContain(o.status);
      expect(o.end - o.start, `${o.kind} took ${o.end - o.start} ms`).toBeLessThan(FAIL_FAST_MS);
    }
    const during = outcomes.filter((o) => o.start > frozenAt + 100 && o.end < resumeAt);
    expect(during.length).toBeGreaterThan(2);
    during.forEach(expectUnavailable);
    expect(notReady.status).toBe(503);
    expect((await readiness()).status).toBe(200);
  });
});
