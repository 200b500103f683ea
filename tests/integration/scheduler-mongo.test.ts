/**
 * The MongoDB job store (@agendajs/mongo-backend, the production design): two gateways on one
 * MongoDB database fire a job once per fire time, show the next run Agenda uses, and pause/resume.
 * Runs only when MONGODB_URL points at a reachable MongoDB; otherwise skipped with the reason printed.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, login } from '../helpers/http.js';
import { FAST_SCHEDULER_ENV, addProbe, startReplica, waitFor, type Replica } from '../helpers/scheduler-helpers.js';

const MONGODB_URL = process.env.MONGODB_URL;
if (!MONGODB_URL) {
  console.warn('scheduler-mongo: skipped — MONGODB_URL is not set (no MongoDB server on this machine); the PostgreSQL job store is tested in scheduler-api/scheduler-cluster');
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

describe.skipIf(!MONGODB_URL)('MongoDB job store', () => {
  let t: TestApp;
  let replica: Replica;
  let admin: string;
  let mongoUrl: string;
  beforeAll(async () => {
    mongoUrl = withDatabase(MONGODB_URL!, `whalefall_test_${randomBytes(4).toString('hex')}`);
    const env = { ...FAST_SCHEDULER_ENV, MONGODB_URL: mongoUrl };
    t = await startTestApp(env);
    replica = await startReplica(t.databaseUrl, t.redisPrefix, env);
    addProbe(t.app.deps.scheduler!);
    addProbe(replica.scheduler);
    admin = (await login(t.url)).access_token;
  });
  afterAll(async () => {
    await replica?.close();
    await t?.close();
    if (mongoUrl) {
      const client = await MongoClient.connect(mongoUrl);
      await client.db().dropDatabase().finally(() => client.close());
    }
  });

  it('uses MongoDB for Agenda', () => {
    expect(t.app.deps.scheduler!.backend).toBe('mongo');
    expect(replica.scheduler.backend).toBe('mongo');
  });

  it('fires each run once across two gateways, at the next run time it showed', { timeout: 30_000 }, async () => {
    const res = await call(t.url, 'POST', '/api/jobs', { token: admin, json: { name: 'mongo', task_type: 'probe', schedule: '*/2 * * * * *' } });
    expect(res.status).toBe(201);
    const job = res.body.data;
    const runs = await waitFor(async () => {
      const r = (await call(t.url, 'GET', `/api/jobs/${job.id}/runs?per_page=100`, { token: admin })).body.data;
      return r.length >= 4 && r;
    }, 15_000);
    const fires = runs.map((r: any) => r.scheduled_for);
    expect(new Set(fires).size).toBe(fires.length);
    expect(fires).toContain(job.next_run_time);
    for (const r of runs) expect(new Date(r.started_at).getTime() - new Date(r.scheduled_for).getTime()).toBeLessThan(1000);

    const paused = await call(t.url, 'POST', `/api/jobs/${job.id}/pause`, { token: admin });
    expect(paused.body.data).toMatchObject({ status: 'paused', next_run_time: null });
    const resumed = await call(replica.url, 'POST', `/api/jobs/${job.id}/resume`, { token: admin });
    expect(resumed.body.data.status).toBe('active');
    expect(new Date(resumed.body.data.next_run_time).getTime()).toBeGreaterThan(Date.now() - 1000);
    await call(t.url, 'DELETE', `/api/jobs/${job.id}`, { token: admin });
  });
});
