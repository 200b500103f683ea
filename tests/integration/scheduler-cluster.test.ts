/**
 * Several gateway processes on one job store (PostgreSQL): each fire runs exactly once, a job never
 * overlaps itself, a job locked by a crashed process is taken over after the lock lifetime, and a
 * graceful stop lets running jobs finish (or interrupts them at the timeout) and releases its locks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, login } from '../helpers/http.js';
import { FAST_SCHEDULER_ENV, addProbe, probeCalls, releaseProbes, sleep, startReplica, waitFor, type Replica } from '../helpers/scheduler-helpers.js';

async function createJob(t: { url: string }, token: string, body: Record<string, unknown>) {
  const res = await call(t.url, 'POST', '/api/jobs', { token, json: body });
  if (res.status !== 201) throw new Error(`create job: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data as { id: string };
}

type RunRow = { id: number; jobId: string; status: string; scheduledFor: Date | null; startedAt: Date; finishedAt: Date | null; node: string | null; error: string | null };

async function runsOf(t: TestApp, jobId: string): Promise<RunRow[]> {
  return t.app.deps.prisma.jobRun.findMany({ where: { jobId }, orderBy: { startedAt: 'asc' } });
}

async function agendaRow(t: TestApp, jobId: string) {
  const { rows } = await t.app.deps.pool.query(`SELECT locked_at, next_run_at FROM agenda_jobs WHERE data->>'jobId' = $1`, [jobId]);
  return rows[0] as { locked_at: Date | null; next_run_at: Date | null } | undefined;
}

async function leaseOf(t: TestApp, jobId: string) {
  return t.app.deps.prisma.scheduledJob.findUniqueOrThrow({ where: { id: jobId }, select: { runningRunId: true, leaseExpiresAt: true } });
}

describe('two gateway processes on one database', () => {
  let t: TestApp;
  let replica: Replica;
  let admin: string;
  beforeAll(async () => {
    t = await startTestApp(FAST_SCHEDULER_ENV);
    replica = await startReplica(t.databaseUrl, t.redisPrefix, FAST_SCHEDULER_ENV);
    addProbe(t.app.deps.scheduler!);
    addProbe(replica.scheduler);
    admin = (await login(t.url)).access_token;
  });
  afterAll(async () => {
    releaseProbes();
    await replica?.close();
    await t?.close();
  });

  it('runs each fire exactly once and never overlaps a job with itself, over 20 seconds', { timeout: 60_000 }, async () => {
    const specs = [
      { name: 'fast-0', schedule: '*/2 * * * * *', params: { sleep_ms: 0 } },
      { name: 'fast-100', schedule: '*/2 * * * * *', params: { sleep_ms: 100 } },
      { name: 'fast-400', schedule: '*/2 * * * * *', params: { sleep_ms: 400 } },
      { name: 'every-second', schedule: '* * * * * *', params: { sleep_ms: 50 } },
      // Longer than their period: they must skip or wait, never run twice at once.
      { name: 'slow-cron', schedule: '* * * * * *', params: { sleep_ms: 1500 } },
      { name: 'slow-interval', schedule: 'every 1 second', params: { sleep_ms: 1300 } },
    ];
    const jobs: Array<(typeof specs)[number] & { id: string }> = [];
    for (const s of specs) jobs.push({ ...s, ...(await createJob(t, admin, { ...s, task_type: 'probe' })) });
    const began = Date.now();
    await sleep(20_000);
    for (const j of jobs) await call(t.url, 'POST', `/api/jobs/${j.id}/disable`, { token: admin });
    await waitFor(async () => (await t.app.deps.prisma.jobRun.count({ where: { jobId: { in: jobs.map((j) => j.id) }, status: 'running' } })) === 0, 5000);

    const nodes = new Set<string>();
    for (const j of jobs) {
      const runs = await runsOf(t, j.id);
      const executed = runs.filter((r) => r.status !== 'skipped');
      // Once-only: no fire time is executed twice.
      const fires = executed.map((r) => r.scheduledFor!.toISOString());
      expect(new Set(fires).size, `${j.name}: duplicate fires ${fires}`).toBe(fires.length);
      // No overlap, both in the run history and in what actually executed.
      for (let i = 1; i < executed.length; i++) {
        expect(executed[i]!.startedAt.getTime(), `${j.name} run ${executed[i]!.id} overlaps ${executed[i - 1]!.id}`).toBeGreaterThanOrEqual(executed[i - 1]!.finishedAt!.getTime());
      }
      const calls = probeCalls.filter((c) => c.jobId === j.id).sort((a, b) => a.start - b.start);
      for (let i = 1; i < calls.length; i++) expect(calls[i]!.start).toBeGreaterThanOrEqual(calls[i - 1]!.end!);
      expect(calls.length).toBe(executed.filter((r) => r.status === 'success').length);
      expect(executed.every((r) => r.status === 'success')).toBe(true);
      for (const r of executed) nodes.add(r.node!);
      if (j.schedule === '*/2 * * * * *') {
        // Every even second of the window fired, once.
        expect(executed.length, j.name).toBeGreaterThanOrEqual(9);
        expect(executed.length, j.name).toBeLessThanOrEqual(11);
        for (const r of executed) expect(r.startedAt.getTime() - r.scheduledFor!.getTime(), `${j.name} lateness`).toBeLessThan(2000); // generous: CI shares 2 cores
      }
      if (j.name === 'every-second') expect(executed.length).toBeGreaterThanOrEqual(18);
      if (j.name.startsWith('slow')) expect(executed.length).toBeGreaterThanOrEqual(6);
    }
    // Which gateway takes a fire depends on whose scan comes first; both were polling the whole time.
    for (const n of nodes) expect([t.app.deps.scheduler!.node, replica.scheduler.node]).toContain(n);
    expect(t.app.deps.scheduler!.isProcessing && replica.scheduler.isProcessing).toBe(true);
    expect(Date.now() - began).toBeGreaterThanOrEqual(20_000);
  });

  it('takes over a job locked by a crashed process after the lock lifetime', { timeout: 60_000 }, async () => {
    const job = await createJob(t, admin, { name: 'crash', task_type: 'probe', schedule: '*/2 * * * * *', params: { hang: true } });
    const first = await waitFor(async () => (await runsOf(t, job.id)).find((r) => r.status === 'running'), 6000);
    const victim = [t.app.deps.scheduler!, replica.scheduler].find((s) => s.node === first.node)!;
    const survivor = [t.app.deps.scheduler!, replica.scheduler].find((s) => s !== victim)!;
    await sleep(1200); // a few lock renewals while the victim is alive: nobody else may touch the job
    expect((await runsOf(t, job.id)).map((r) => r.id)).toEqual([first.id]);
    const crashedAt = Date.now();
    await victim.abandon();

    const takeover = await waitFor(async () => (await runsOf(t, job.id)).find((r) => r.id !== first.id && r.status !== 'skipped'), 12_000);
    const waited = takeover.startedAt.getTime() - crashedAt;
    expect(takeover.node).toBe(survivor.node);
    // Not before the lock (renewed every second) expired, and soon after it did (3 s lifetime).
    expect(waited).toBeGreaterThanOrEqual(3000 - 1100);
    expect(waited).toBeLessThan(3000 + 6000);
    // The taken-over run is marked right after the new run is recorded (a separate statement).
    const interrupted = await waitFor(async () => (await runsOf(t, job.id)).find((r) => r.id === first.id && r.status === 'interrupted'), 3000);
    expect(interrupted.status).toBe('interrupted');
    expect(interrupted.error).toMatch(/接管/);
    expect(takeover.status).toBe('running');
    expect((await leaseOf(t, job.id)).runningRunId).toBe(takeover.id);
    await call(t.url, 'POST', `/api/jobs/${job.id}/disable`, { token: admin });
    releaseProbes();
  });
});

describe('graceful stop', () => {
  let t: TestApp;
  let admin: string;
  // A lock lifetime far longer than the test: anything another process picks up was released, not expired.
  const env = { ...FAST_SCHEDULER_ENV, SCHEDULER_LOCK_LIFETIME_MS: '60000' };
  beforeAll(async () => {
    // This gateway only serves the API; the replicas run the jobs.
    t = await startTestApp({ ...env, SCHEDULER_ENABLED: 'false' });
    addProbe(t.app.deps.scheduler!);
    admin = (await login(t.url)).access_token;
  });
  afterAll(async () => {
    releaseProbes();
    await t?.close();
  });

  it('starts several gateways at the same moment on one database', { timeout: 60_000 }, async () => {
    // Agenda prepares its table and trigger on every start; replicas take turns doing it.
    const replicas = await Promise.all([1, 2, 3].map(() => startReplica(t.databaseUrl, t.redisPrefix, env)));
    try {
      for (const r of replicas) expect(r.scheduler.isProcessing).toBe(true);
      const ids = (await call(replicas[0]!.url, 'GET', '/api/jobs?per_page=100', { token: admin })).body.data.map((j: any) => j.id);
      expect(ids.filter((id: string) => id === 'sync_accounts')).toHaveLength(1);
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  it('takes no new jobs, lets the running one finish, then releases its locks', { timeout: 30_000 }, async () => {
    const r1 = await startReplica(t.databaseUrl, t.redisPrefix, { ...env, SCHEDULER_STOP_TIMEOUT_MS: '10000' });
    addProbe(r1.scheduler);
    const job = await createJob(t, admin, { name: 'drain', task_type: 'probe', schedule: '*/2 * * * * *', params: { sleep_ms: 1500 } });
    const running = await waitFor(async () => (await runsOf(t, job.id)).find((r) => r.status === 'running'), 6000);
    const stopAt = Date.now();
    await r1.close();
    const stoppedAt = Date.now();
    const runs = await runsOf(t, job.id);
    const finished = runs.find((r) => r.id === running.id)!;
    expect(finished.status).toBe('success');
    expect(finished.finishedAt!.getTime()).toBeLessThanOrEqual(stoppedAt);
    expect(stoppedAt - stopAt).toBeGreaterThan(200); // it waited for the run
    expect(runs.filter((r) => r.startedAt.getTime() > stopAt)).toEqual([]);
    expect((await agendaRow(t, job.id))!.locked_at).toBeNull();
    expect((await leaseOf(t, job.id)).runningRunId).toBeNull();
    await call(t.url, 'POST', `/api/jobs/${job.id}/disable`, { token: admin });
  });

  it('interrupts a run that overruns the stop timeout and releases its lock at once', { timeout: 30_000 }, async () => {
    const r2 = await startReplica(t.databaseUrl, t.redisPrefix, { ...env, SCHEDULER_STOP_TIMEOUT_MS: '1000' });
    addProbe(r2.scheduler);
    const job = await createJob(t, admin, { name: 'overrun', task_type: 'probe', schedule: '*/2 * * * * *', params: { hang: true } });
    const running = await waitFor(async () => (await runsOf(t, job.id)).find((r) => r.status === 'running'), 6000);
    const stopAt = Date.now();
    await r2.close();
    const took = Date.now() - stopAt;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(5000);
    const interrupted = (await runsOf(t, job.id)).find((r) => r.id === running.id)!;
    expect(interrupted.status).toBe('interrupted');
    expect((await agendaRow(t, job.id))!.locked_at).toBeNull();
    expect((await leaseOf(t, job.id)).runningRunId).toBeNull();

    // Another process runs the job's next fire right away, not after the 60 s lock lifetime.
    const r3 = await startReplica(t.databaseUrl, t.redisPrefix, env);
    try {
      addProbe(r3.scheduler);
      const next = await waitFor(async () => (await runsOf(t, job.id)).find((r) => r.id !== running.id && r.node === r3.scheduler.node), 8000);
      expect(next.startedAt.getTime() - stopAt).toBeLessThan(10_000);
      await call(t.url, 'POST', `/api/jobs/${job.id}/disable`, { token: admin });
      releaseProbes();
    } finally {
      await r3.close();
    }
  });
});
