/**
 * Two gateway processes (src/main.ts as real OS processes, on their own ports) sharing one PostgreSQL
 * database and one Redis prefix behave as one service:
 * - a rate limit is global: requests spread over both replicas hit 429 at the combined limit;
 * - a graphql-ws subscription on one replica receives the events of actions taken on the other;
 * - each scheduled fire runs exactly once across the two;
 * - sync work is shared by both and never doubled: an instance is never synced twice at once, and
 *   a session whose replica dies mid-record is finished by the other.
 * Both start at the same moment on a new database (migrations and seeding race, and must not fail).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway, sharedStores, type GatewayProcess } from '../helpers/gateway-process.js';
import { call, login, registerSecret } from '../helpers/http.js';
import { createManagedPostgres, registerInstanceViaApi } from '../helpers/managed.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { watch, watchLogs } from '../helpers/live.js';
import { sleep, waitFor } from '../helpers/scheduler-helpers.js';
import { ADMIN_PASSWORD } from '../helpers/test-app.js';
import { PG_ADMIN_URL } from '../helpers/env.js';

const LOGIN_LIMIT = 6;
const INSTANCES = 4;

let stores: Awaited<ReturnType<typeof sharedStores>>;
let managed: Awaited<ReturnType<typeof createManagedPostgres>>;
let a: GatewayProcess;
let b: GatewayProcess;
let token: string;
/** One slow path per managed instance: each counts the connections open through it at once. */
const proxies: TcpProxy[] = [];
const instanceIds: number[] = [];

beforeAll(async () => {
  stores = await sharedStores();
  managed = await createManagedPostgres(2);
  registerSecret(managed.password);
  const env = {
    DATABASE_URL: stores.databaseUrl,
    REDIS_KEY_PREFIX: stores.redisPrefix,
    // Login attempts carry the client address in X-Forwarded-For (a load balancer in front).
    TRUST_PROXY: 'true',
    LOGIN_RATE_LIMIT_PER_IP: String(LOGIN_LIMIT),
    SCHEDULER_PROCESS_EVERY_MS: '200',
    // One record at a time per replica: two records running at once means both replicas work.
    SYNC_CONCURRENCY: '1',
    AUTO_CLASSIFY_AFTER_SYNC: 'false',
    DATABASE_CONNECT_TIMEOUT_MS: '3000',
    // A running record without a heartbeat for this long belongs to a dead replica (the reaper fails it).
    SYNC_STALE_SECONDS: '5',
    SYNC_POLL_MS: '500',
  };
  [a, b] = await Promise.all([spawnGateway(env), spawnGateway(env)]);
  token = (await login(a.url)).access_token;
  const port = Number(new URL(PG_ADMIN_URL).port || 5432);
  for (let i = 0; i < INSTANCES; i++) {
    const proxy = await startTcpProxy({ targetPort: port, latencyMs: 60 });
    proxies.push(proxy);
    instanceIds.push(
      await registerInstanceViaApi(a.url, token, {
        name: `${managed.prefix}replica${i}`,
        dbType: 'postgresql',
        port: proxy.port,
        database: managed.database,
        username: managed.username,
        password: managed.password,
      }),
    );
  }
}, 180_000);

afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill()]);
  await Promise.all(proxies.map((p) => p.close()));
  await managed?.drop();
  await stores?.drop();
});

/** pid → which replica, from the node names the scheduler records (`host:pid:random`). */
function replicaOf(node: string | null): 'a' | 'b' | '?' {
  const pid = Number(node?.split(':')[1]);
  return pid === a.pid ? 'a' : pid === b.pid ? 'b' : '?';
}

async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: stores.databaseUrl });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

describe('two gateway processes on one database and Redis', () => {
  it('share rate limits: attempts spread over both replicas are refused at the combined limit', async () => {
    const results = [];
    for (let i = 0; i < LOGIN_LIMIT + 4; i++) {
      const replica = i % 2 ? b : a;
      const res = await call(replica.url, 'POST', '/auth/login', {
        json: { username: 'admin', password: ADMIN_PASSWORD },
        headers: { 'x-forwarded-for': '10.66.0.1' },
      });
      results.push({ replica: replica === a ? 'a' : 'b', status: res.status, retryAfter: res.headers.get('retry-after'), error: res.body.error });
    }
    // In-process counting would let each replica allow LOGIN_LIMIT: twice as many.
    expect(results.map((r) => r.status)).toEqual([...Array(LOGIN_LIMIT).fill(200), 429, 429, 429, 429]);
    const refused = results.filter((r) => r.status === 429);
    expect(new Set(refused.map((r) => r.replica))).toEqual(new Set(['a', 'b']));
    for (const r of refused) {
      expect(r.error).toBe('RateLimitError');
      expect(Number(r.retryAfter)).toBeGreaterThan(0);
    }
    // Another client address has its own budget, on either replica.
    expect((await call(b.url, 'POST', '/auth/login', { json: { username: 'admin', password: ADMIN_PASSWORD }, headers: { 'x-forwarded-for': '10.66.0.2' } })).status).toBe(200);
  });

  it('deliver events of one replica to subscribers of the other', { timeout: 60_000 }, async () => {
    // The live log: a user created through B appears on a stream served by A.
    const logs = watchLogs(a.url, token, 'users');
    const requestId = `replica-b-${Date.now()}`;
    try {
      await logs.connected;
      await sleep(300); // the subscription is set up just after the connection is acknowledged
      const created = await call(b.url, 'POST', '/api/users', { token, json: { username: 'made_on_b', password: 'Passw0rdX', role: 'viewer' }, headers: { 'x-request-id': requestId } });
      expect(created.status).toBe(201);
      await waitFor(() => logs.events.some((e) => e.entry.message === '用户创建成功'), 10_000, 50);
      expect(logs.errors).toEqual([]);
    } finally {
      await logs.dispose();
    }
    // The entry's request id is B's request: it was produced there.
    const [row] = await sql<{ request_id: string }>(`SELECT request_id FROM unified_logs WHERE module = 'users' AND message = '用户创建成功' ORDER BY id DESC LIMIT 1`);
    expect(row!.request_id).toBe(requestId);

    // Sync progress: a session started on B (and run there: it claims its record before answering),
    // followed from A until it completes.
    const started = await call(b.url, 'POST', `/api/instances/${instanceIds[0]}/sync`, { token });
    expect(started.status).toBe(202);
    const progress = watch<{ sessionId: string; status: string; instanceStatus: string | null }>(
      a.url,
      token,
      'subscription P($id: ID!) { syncSessionProgress(sessionId: $id) { sessionId status instanceStatus } }',
      { id: started.body.data.session_id },
      'syncSessionProgress',
    );
    try {
      await progress.done;
      expect(progress.errors).toEqual([]);
      expect(progress.events.length).toBeGreaterThanOrEqual(2); // the current state, then live changes from B
      expect(progress.events.at(-1)).toMatchObject({ status: 'completed' });
      expect(progress.events.some((e) => e.instanceStatus === 'completed')).toBe(true);
    } finally {
      await progress.dispose();
    }
  });

  it('run each scheduled fire exactly once across both', { timeout: 60_000 }, async () => {
    const job = await call(a.url, 'POST', '/api/jobs', { token, json: { name: 'every-2s', task_type: 'cleanup_logs', schedule: '*/2 * * * * *', params: { days: 30 } } });
    expect(job.status, JSON.stringify(job.body)).toBe(201);
    await sleep(11_000);
    await call(a.url, 'POST', `/api/jobs/${job.body.data.id}/disable`, { token });
    await sleep(1000); // the last fire finishes
    const runs = (await call(b.url, 'GET', `/api/jobs/${job.body.data.id}/runs?per_page=100&order=asc`, { token })).body.data as Array<{
      status: string;
      trigger: string;
      scheduled_for: string;
      node: string;
    }>;
    const fires = runs.filter((r) => r.trigger === 'scheduled');
    expect(fires.length).toBeGreaterThanOrEqual(4);
    expect(fires.every((r) => r.status === 'success'), JSON.stringify(fires)).toBe(true);
    const times = fires.map((r) => Date.parse(r.scheduled_for)).sort((x, y) => x - y);
    // No fire twice, none missing: one run per 2-second tick, in a row.
    expect(new Set(times).size).toBe(times.length);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(2000);
    expect(fires.every((r) => replicaOf(r.node) !== '?')).toBe(true);
  });

  it('share sync work and never sync one instance twice at once', { timeout: 120_000 }, async () => {
    const syncedBefore = (p: GatewayProcess) => (p.output().match(/实例账户同步完成/g) ?? []).length;
    const [beforeA, beforeB] = [syncedBefore(a), syncedBefore(b)];
    // The same instances, requested on both replicas at the same moment.
    const [s1, s2] = await Promise.all([
      call(a.url, 'POST', '/api/sync-all?wait=true', { token, json: { instance_ids: instanceIds } }),
      call(b.url, 'POST', '/api/sync-all?wait=true', { token, json: { instance_ids: instanceIds } }),
    ]);
    expect(s1.status, JSON.stringify(s1.body)).toBe(200);
    expect(s2.status, JSON.stringify(s2.body)).toBe(200);
    const records = [...s1.body.data.instance_records, ...s2.body.data.instance_records] as Array<{
      instance_id: number;
      status: string;
      error_message: string | null;
      started_at: string;
      completed_at: string;
    }>;
    expect(records).toHaveLength(2 * INSTANCES);
    for (const s of [s1.body.data, s2.body.data]) expect(['completed', 'failed']).toContain(s.status);
    // Each record either synced its instance or stepped aside because the other session was syncing it.
    for (const r of records) {
      if (r.status !== 'completed') expect(r, JSON.stringify(r)).toMatchObject({ status: 'failed', error_message: expect.stringMatching(/另一个同步任务/) });
    }
    for (const id of instanceIds) {
      const done = records.filter((r) => r.instance_id === id && r.status === 'completed');
      expect(done.length).toBeGreaterThanOrEqual(1);
      // Completed runs of one instance never overlap in time…
      const spans = done.map((r) => [Date.parse(r.started_at), Date.parse(r.completed_at)] as const).sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    }
    // …and the managed server never saw two connections of the gateway through one instance at once.
    for (const p of proxies.slice(0, INSTANCES)) expect(p.maxOpen).toBe(1);
    // Both replicas did part of the work (each runs one record at a time).
    expect(syncedBefore(a) - beforeA).toBeGreaterThan(0);
    expect(syncedBefore(b) - beforeB).toBeGreaterThan(0);
    // And no account was added twice.
    const doubled = await sql(
      `SELECT instance_id, username, count(*) FROM account_change_log WHERE change_type = 'add' AND instance_id = ANY($1) GROUP BY 1, 2 HAVING count(*) > 1`,
      [instanceIds],
    );
    expect(doubled).toEqual([]);
  });

  // Last: replica B dies here.
  it('finish a session whose replica died mid-record: the reaper of the survivor fails the stale record', { timeout: 90_000 }, async () => {
    // An instance that answers nothing: B's sync of it hangs in the connect (up to 60 s) when B dies.
    const hung = await startTcpProxy({ targetPort: Number(new URL(PG_ADMIN_URL).port || 5432) });
    proxies.push(hung);
    hung.freeze();
    const id = await registerInstanceViaApi(a.url, token, {
      name: `${managed.prefix}hung`,
      dbType: 'postgresql',
      port: hung.port,
      database: managed.database,
      username: managed.username,
      password: managed.password,
      connectTimeoutMs: 60_000,
    });
    const started = await call(b.url, 'POST', `/api/instances/${id}/sync`, { token });
    expect(started.status).toBe(202);
    await waitFor(() => hung.open > 0, 10_000, 50); // a replica is connecting to it
    // Either replica may have taken the record off the queue (B was asked, A was woken too): the one
    // running it dies, the other must finish the session.
    const running = await waitFor(async () => {
      const r = (await call(a.url, 'GET', `/api/sessions/${started.body.data.session_id}`, { token })).body.data.instance_records[0];
      return r?.status === 'running' && r.node ? r : false;
    }, 10_000, 50);
    const [victim, survivor] = String(running.node).includes(`:${b.child.pid}:`) ? [b, a] : [a, b];
    victim.child.kill('SIGKILL');
    await victim.exited;

    const session = await waitFor(async () => {
      const s = (await call(survivor.url, 'GET', `/api/sessions/${started.body.data.session_id}`, { token })).body.data;
      return s.status !== 'running' && s;
    }, 60_000, 500);
    expect(session).toMatchObject({ status: 'failed', total_instances: 1, failed_instances: 1, progress_percentage: 100 });
    expect(session.instance_records[0]).toMatchObject({ status: 'failed', error_message: expect.stringMatching(/^执行该同步的网关进程已停止响应 \(.+\)，已标记为失败$/) });
  });
});
