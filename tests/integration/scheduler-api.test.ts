/**
 * The job API over REST (flat /api/jobs… and /scheduler/api/jobs…) and GraphQL: every action and the
 * state it leaves, run-now, run history, validation, permissions, next-run agreement with real fires.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { call, gql, login, userWithRole } from '../helpers/http.js';
import { FAST_SCHEDULER_ENV, addProbe, probeCalls, releaseProbes, sleep, startReplica, waitFor } from '../helpers/scheduler-helpers.js';
import { DEFAULTS_SEEDED_KEY } from '../../src/services/scheduler/scheduler-service.js';
import { nextRunAfter, parseScheduleText } from '../../src/services/scheduler/schedule.js';
import type {
  CreateJobMutation,
  JobQuery,
  JobRunsQuery,
  JobsQuery,
  PauseJobMutation,
  RunJobMutation,
  TaskTypesQuery,
  UpdateJobMutation,
} from '../generated/operations.js';

let t: TestApp;
let admin: string;
const PREFIXES = ['/api', '/scheduler/api'];

beforeAll(async () => {
  t = await startTestApp({ ...FAST_SCHEDULER_ENV, SCHEDULER_RUN_LIMIT_PER_USER: '30', SCHEDULER_RUN_LIMIT_WINDOW_SECONDS: '60' });
  addProbe(t.app.deps.scheduler!);
  admin = (await login(t.url)).access_token;
});
afterAll(async () => {
  releaseProbes();
  await t?.close();
});

function expectError(res: { status: number; body: any }, status: number, type: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toMatchObject({ status: 'error', success: false, error: type, code: status });
  expect(res.body.details).toBeTypeOf('object');
}

async function createJob(body: Record<string, unknown>, token = admin, prefix = '/api') {
  const res = await call(t.url, 'POST', `${prefix}/jobs`, { token, json: body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.data;
}

const getJob = async (id: string) => (await call(t.url, 'GET', `/api/jobs/${id}`, { token: admin })).body.data;
const runsOf = async (id: string, qs = 'per_page=100') => (await call(t.url, 'GET', `/api/jobs/${id}/runs?${qs}`, { token: admin })).body;
const agendaJobsOf = async (id: string) =>
  (await t.app.deps.pool.query(`SELECT id, next_run_at, locked_at, disabled FROM agenda_jobs WHERE data->>'jobId' = $1`, [id])).rows;

describe('default jobs (SPEC §3.8)', () => {
  it('are created once on a new installation, with the documented schedules', async () => {
    const res = await call(t.url, 'GET', '/api/jobs', { token: admin });
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.data.map((j: any) => [j.id, j]));
    expect(byId.sync_accounts).toMatchObject({
      task_type: 'sync_accounts',
      schedule: 'every 30 minutes',
      trigger_type: 'interval',
      interval_seconds: 1800,
      trigger: 'interval[0:30:00]',
      is_builtin: true,
      status: 'active',
      timezone: 'UTC',
    });
    expect(byId.cleanup_logs).toMatchObject({ task_type: 'cleanup_logs', schedule: '0 0 2 * * *', params: { days: 30 }, status: 'active' });
    const next = new Date(byId.cleanup_logs.next_run_time);
    expect(next.getUTCHours()).toBe(2);
    expect(next.getUTCMinutes()).toBe(0);
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(86_400_000);
    const marker = await t.app.deps.prisma.globalParam.findUnique({ where: { key: DEFAULTS_SEEDED_KEY } });
    expect(marker).not.toBeNull();
  });

  it('are editable and deletable, and a deleted default is not re-created by the next start', async () => {
    const edited = await call(t.url, 'PUT', '/api/jobs/sync_accounts', { token: admin, json: { schedule: 'every 15 minutes', db_type: 'mysql' } });
    expect(edited.status).toBe(200);
    expect(edited.body.data).toMatchObject({ schedule: 'every 15 minutes', db_type: 'mysql', params: { db_type: 'mysql' }, is_builtin: true });
    const del = await call(t.url, 'DELETE', '/api/jobs/cleanup_logs', { token: admin });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ message: '任务删除成功', data: { id: 'cleanup_logs' } });

    const replica = await startReplica(t.databaseUrl, t.redisPrefix, FAST_SCHEDULER_ENV);
    try {
      const ids = (await call(replica.url, 'GET', '/api/jobs?per_page=100', { token: admin })).body.data.map((j: any) => j.id);
      expect(ids).toContain('sync_accounts');
      expect(ids).not.toContain('cleanup_logs');
    } finally {
      await replica.close();
    }
    expect(await agendaJobsOf('cleanup_logs')).toEqual([]);
  });
});

describe('job actions over REST', () => {
  it('creates a job from the API document body at both paths and shows its next run', async () => {
    for (const prefix of PREFIXES) {
      const before = new Date();
      const job = await createJob(
        { name: '账户同步任务', task_type: 'sync_accounts', db_type: 'postgresql', schedule: '0 */30 * * * *', description: '每30分钟同步一次账户' },
        admin,
        prefix,
      );
      expect(job).toMatchObject({
        name: '账户同步任务',
        task_type: 'sync_accounts',
        db_type: 'postgresql',
        params: { db_type: 'postgresql' },
        schedule: '0 */30 * * * *',
        trigger_type: 'cron',
        status: 'active',
        is_enabled: true,
        is_paused: false,
        is_builtin: false,
        description: '每30分钟同步一次账户',
        last_run: null,
      });
      expect(job.id).toMatch(/^sync_accounts_[0-9a-f]{8}$/);
      const expected = nextRunAfter(parseScheduleText('0 */30 * * * *'), 'UTC', before);
      expect(job.next_run_time).toBe(expected.toISOString());
      const detail = await call(t.url, 'GET', `${prefix}/jobs/${job.id}`, { token: admin });
      expect(detail.body.data).toMatchObject({ id: job.id, next_run_time: job.next_run_time });
      expect(await agendaJobsOf(job.id)).toHaveLength(1);
    }
  });

  it('accepts 5-field cron, intervals, upstream trigger payloads and a per-job time zone', async () => {
    const five = await createJob({ name: 'five', task_type: 'cleanup_logs', schedule: '15 3 * * *', params: { days: 7 } });
    expect(five).toMatchObject({ schedule: '0 15 3 * * *', params: { days: 7 } });
    const interval = await createJob({ name: 'iv', task_type: 'cleanup_logs', interval_seconds: 600 });
    expect(interval).toMatchObject({ schedule: 'every 10 minutes', interval_seconds: 600, params: { days: 30 } });
    // An interval's first fire is one interval from now, not immediately.
    expect(new Date(interval.next_run_time).getTime() - Date.now()).toBeGreaterThan(590_000);
    const trig = await createJob({ name: 'tr', task_type: 'cleanup_logs', trigger_type: 'cron', hour: '2', minute: '0' });
    expect(trig.schedule).toBe('0 0 2 * * *');
    const trigIv = await createJob({ name: 'tri', task_type: 'cleanup_logs', trigger_type: 'interval', hours: 1 });
    expect(trigIv.schedule).toBe('every 1 hour');
    const tz = await createJob({ name: 'tz', task_type: 'cleanup_logs', schedule: '0 0 2 * * *', timezone: 'Asia/Shanghai' });
    expect(tz.timezone).toBe('Asia/Shanghai');
    expect(new Date(tz.next_run_time).getUTCHours()).toBe(18);
    const custom = await createJob({ id: 'nightly-cleanup', name: 'n', task_type: 'cleanup_logs', schedule: '@daily' });
    expect(custom).toMatchObject({ id: 'nightly-cleanup', schedule: '0 0 0 * * *' });
    expectError(await call(t.url, 'POST', '/api/jobs', { token: admin, json: { id: 'nightly-cleanup', name: 'n', task_type: 'cleanup_logs', schedule: '@daily' } }), 409, 'ConflictError');
  });

  it('update changes the definition and reschedules from now', async () => {
    const job = await createJob({ name: 'to-update', task_type: 'cleanup_logs', schedule: '0 0 3 * * *' });
    const [doc] = await agendaJobsOf(job.id);
    const before = new Date();
    const res = await call(t.url, 'PUT', `/api/jobs/${job.id}`, { token: admin, json: { name: '更新的任务名称', schedule: '0 0 */6 * * *' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ message: '任务更新成功', data: { name: '更新的任务名称', schedule: '0 0 */6 * * *' } });
    expect(res.body.data.next_run_time).toBe(nextRunAfter(parseScheduleText('0 0 */6 * * *'), 'UTC', before).toISOString());
    const docs = await agendaJobsOf(job.id);
    expect(docs).toHaveLength(1);
    expect(docs[0].id).not.toBe(doc.id);
    // A change that keeps the schedule keeps the Agenda job.
    const renamed = await call(t.url, 'PUT', `/scheduler/api/jobs/${job.id}`, { token: admin, json: { description: 'd', params: { days: 9 } } });
    expect(renamed.body.data).toMatchObject({ description: 'd', params: { days: 9 } });
    expect((await agendaJobsOf(job.id))[0].id).toBe(docs[0].id);
  });

  it('pause skips fires but keeps run-now; resume computes the next run from now and replays nothing', async () => {
    const job = await createJob({ name: 'pausable', task_type: 'probe', schedule: '* * * * * *', params: { tag: 'pausable' } });
    await waitFor(async () => (await runsOf(job.id)).pagination.total >= 1);
    const paused = await call(t.url, 'POST', `/api/jobs/${job.id}/pause`, { token: admin });
    expect(paused.body).toMatchObject({ message: '任务暂停成功', data: { status: 'paused', is_paused: true, is_enabled: true, next_run_time: null } });
    expect(await agendaJobsOf(job.id)).toEqual([]);
    const pausedAt = Date.now();
    await sleep(2500);
    const now = await call(t.url, 'POST', `/api/jobs/${job.id}/run`, { token: admin });
    expect(now.status, JSON.stringify(now.body)).toBe(200);
    expect(now.body).toMatchObject({ message: '任务执行成功', data: { trigger: 'manual', status: 'success', result: 'probe ok (pausable)' } });
    const resumedAt = Date.now();
    const resumed = await call(t.url, 'POST', `/api/jobs/${job.id}/resume`, { token: admin });
    expect(resumed.body).toMatchObject({ message: '任务恢复成功', data: { status: 'active', is_paused: false } });
    expect(new Date(resumed.body.data.next_run_time).getTime()).toBeGreaterThan(resumedAt - 1000);
    await sleep(1500);
    await call(t.url, 'POST', `/api/jobs/${job.id}/pause`, { token: admin });
    const runs = (await runsOf(job.id)).data;
    const scheduledWhilePaused = runs.filter(
      (r: any) => r.trigger === 'scheduled' && new Date(r.scheduled_for).getTime() > pausedAt + 500 && new Date(r.scheduled_for).getTime() < resumedAt - 500,
    );
    expect(scheduledWhilePaused).toEqual([]);
    expect(runs.some((r: any) => r.trigger === 'scheduled' && new Date(r.scheduled_for).getTime() >= resumedAt - 1000)).toBe(true);
  });

  it('disable turns a job off entirely (run-now 409) until enabled', async () => {
    const job = await createJob({ name: 'disable-me', task_type: 'probe', schedule: '0 0 4 * * *' });
    const off = await call(t.url, 'POST', `/api/jobs/${job.id}/disable`, { token: admin });
    expect(off.body).toMatchObject({ message: '任务已禁用', data: { status: 'disabled', is_enabled: false, next_run_time: null } });
    const refused = await call(t.url, 'POST', `/api/jobs/${job.id}/run`, { token: admin });
    expectError(refused, 409, 'ConflictError');
    expect(refused.body.message).toMatch(/已禁用/);
    // Pausing a disabled job keeps it disabled.
    expect((await call(t.url, 'POST', `/api/jobs/${job.id}/resume`, { token: admin })).body.data.status).toBe('disabled');
    const on = await call(t.url, 'POST', `/scheduler/api/jobs/${job.id}/enable`, { token: admin });
    expect(on.body).toMatchObject({ message: '任务已启用', data: { status: 'active', is_enabled: true } });
    expect(on.body.data.next_run_time).not.toBeNull();
    expect(await agendaJobsOf(job.id)).toHaveLength(1);
  });

  it('delete removes the job, its runs and its Agenda job', async () => {
    const job = await createJob({ name: 'delete-me', task_type: 'probe', schedule: '0 0 5 * * *' });
    expect((await call(t.url, 'POST', `/api/jobs/${job.id}/run`, { token: admin })).status).toBe(200);
    expect((await call(t.url, 'DELETE', `/api/jobs/${job.id}`, { token: admin })).status).toBe(200);
    expectError(await call(t.url, 'GET', `/api/jobs/${job.id}`, { token: admin }), 404, 'ResourceNotFoundError');
    expectError(await call(t.url, 'DELETE', `/api/jobs/${job.id}`, { token: admin }), 404, 'ResourceNotFoundError');
    expect(await agendaJobsOf(job.id)).toEqual([]);
    expect(await t.app.deps.prisma.jobRun.count({ where: { jobId: job.id } })).toBe(0);
  });

  it('answers 404 for every action on an unknown job', async () => {
    for (const [m, p] of [
      ['GET', ''],
      ['PUT', ''],
      ['DELETE', ''],
      ['POST', '/enable'],
      ['POST', '/disable'],
      ['POST', '/pause'],
      ['POST', '/resume'],
      ['POST', '/run'],
      ['GET', '/runs'],
    ] as const) {
      const res = await call(t.url, m, `/api/jobs/no_such_job${p}`, { token: admin, json: m === 'PUT' ? { name: 'x' } : undefined });
      expectError(res, 404, 'ResourceNotFoundError');
      expect(res.body.message).toBe('任务不存在');
    }
  });
});

describe('run now', () => {
  it('returns the finished run with its result', async () => {
    const job = await createJob({ name: 'run-ok', task_type: 'probe', schedule: '0 0 6 * * *', params: { tag: 'x', sleep_ms: 50 } });
    const res = await call(t.url, 'POST', `/api/jobs/${job.id}/run`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ job_id: job.id, trigger: 'manual', status: 'success', result: 'probe ok (x)', details: { slept_ms: 50 }, error: null });
    expect(res.body.data.finished_at).not.toBeNull();
    expect(res.body.data.triggered_by).toBeTypeOf('number');
    // Run-now does not move the schedule.
    expect((await getJob(job.id)).next_run_time).toBe(job.next_run_time);
    expect((await getJob(job.id)).last_run).toMatchObject({ id: res.body.data.id, status: 'success' });
  });

  it('reports a failed run as 400 with the run in details', async () => {
    const job = await createJob({ name: 'run-fail', task_type: 'probe', schedule: '0 0 6 * * *', params: { fail: true } });
    const res = await call(t.url, 'POST', `/api/jobs/${job.id}/run`, { token: admin });
    expectError(res, 400, 'JobExecutionError');
    expect(res.body.message).toBe('任务执行失败: probe failed on purpose');
    expect(res.body.details.run).toMatchObject({ status: 'failed', error: 'probe failed on purpose' });
  });

  it('refuses a second run while one is running (409), the job never overlaps itself', async () => {
    const job = await createJob({ name: 'run-hang', task_type: 'probe', schedule: '0 0 6 * * *', params: { hang: true } });
    const first = call(t.url, 'POST', `/api/jobs/${job.id}/run`, { token: admin });
    await waitFor(async () => (await getJob(job.id)).running);
    expectError(await call(t.url, 'POST', `/api/jobs/${job.id}/run`, { token: admin }), 409, 'ConflictError');
    releaseProbes();
    expect((await first).status).toBe(200);
    expect((await getJob(job.id)).running).toBe(false);
    expect((await runsOf(job.id)).pagination.total).toBe(1);
  });

  it('runs auto_classify as a classification batch linked to the run', async () => {
    const job = await createJob({ name: 'classify-now', task_type: 'auto_classify', schedule: '0 0 4 * * *', params: { db_type: 'mysql' } });
    expect(job).toMatchObject({ task_type: 'auto_classify', params: { db_type: 'mysql' } });
    const res = await call(t.url, 'POST', `/api/jobs/${job.id}/run`, { token: admin });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    // Run-now answers once the batch is linked; the run finishes with it.
    expect(res.body.data).toMatchObject({ trigger: 'manual', batch_id: expect.any(String) });
    await waitFor(async () => !(await getJob(job.id)).running);
    expect((await runsOf(job.id)).data[0]).toMatchObject({ status: 'success', batch_id: res.body.data.batch_id });
    const batch = await call(t.url, 'GET', `/api/batches/${res.body.data.batch_id}`, { token: admin });
    expect(batch.body.data.batch).toMatchObject({ batch_type: 'manual', status: 'completed', scope: { db_type: 'mysql', instance_id: null } });
    const bad = await call(t.url, 'POST', '/api/jobs', { token: admin, json: { name: 'x', task_type: 'auto_classify', schedule: '@daily', params: { db_type: 'mongo' } } });
    expect(bad.status).toBe(400);
  });

  it('starts a sync_accounts run as a manual_task session and returns the run linked to it', async () => {
    const job = await createJob({ name: 'sync-now', task_type: 'sync_accounts', schedule: '0 0 6 * * *' });
    // No instance yet: a normal outcome, not an error.
    const empty = await call(t.url, 'POST', `/api/jobs/${job.id}/run`, { token: admin });
    expect(empty.status, JSON.stringify(empty.body)).toBe(200);
    expect(empty.body.data).toMatchObject({ status: 'success', result: '没有找到活跃的数据库实例', session_id: null });

    await t.app.deps.prisma.instance.create({ data: { name: `sched-${Date.now()}`, dbType: 'postgresql', host: '127.0.0.1', port: 1 } });
    const res = await call(t.url, 'POST', `/api/jobs/${job.id}/run`, { token: admin });
    expect([200, 400]).toContain(res.status);
    const run = res.status === 200 ? res.body.data : res.body.details.run;
    expect(run.session_id).toMatch(/^[0-9a-f-]{36}$/);
    const session = await t.app.deps.prisma.syncSession.findUnique({ where: { sessionId: run.session_id } });
    expect(session).toMatchObject({ syncType: 'manual_task' });
    const done = await waitFor(async () => {
      const r = (await runsOf(job.id)).data.find((x: any) => x.id === run.id);
      return r.status !== 'running' && r;
    });
    expect(done).toMatchObject({ session_id: run.session_id, details: { session_id: run.session_id, total_instances: 1 } });
  });

  it('runs cleanup_logs through the log service and reports what it deleted', async () => {
    const old = new Date(Date.now() - 40 * 86_400_000);
    await t.app.deps.prisma.unifiedLog.createMany({
      data: Array.from({ length: 3 }, (_, i) => ({ timestamp: old, level: 'INFO' as const, module: 'test', message: `old entry ${i}` })),
    });
    const job = await createJob({ name: 'cleanup-now', task_type: 'cleanup_logs', schedule: '0 0 2 * * *', params: { days: 30 } });
    await t.app.deps.prisma.jobRun.create({ data: { jobId: job.id, taskType: 'cleanup_logs', trigger: 'scheduled', status: 'success', startedAt: old, finishedAt: old } });
    const res = await call(t.url, 'POST', `/api/jobs/${job.id}/run`, { token: admin });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'success', details: { days: 30 } });
    expect(res.body.data.details.deleted_count).toBeGreaterThanOrEqual(3);
    expect(res.body.data.details.deleted_job_runs).toBe(1);
    expect((await runsOf(job.id)).data.map((r: any) => r.id)).toEqual([res.body.data.id]);
    expect(res.body.data.result).toBe(`清理完成：${res.body.data.details.deleted_count} 条日志，${res.body.data.details.deleted_job_runs} 条任务运行记录 (早于 30 天)`);
    expect(await t.app.deps.prisma.unifiedLog.count({ where: { timestamp: { lt: new Date(Date.now() - 30 * 86_400_000) } } })).toBe(0);
  });

  it('is rate limited per user (429 with Retry-After)', async () => {
    const other = await userWithRole(t.url, admin, 'admin');
    const job = await createJob({ name: 'limited', task_type: 'probe', schedule: '0 0 6 * * *' });
    for (let i = 0; i < 30; i++) expect((await call(t.url, 'POST', `/api/jobs/${job.id}/run`, { token: other.token })).status).toBe(200);
    const limited = await call(t.url, 'POST', `/api/jobs/${job.id}/run`, { token: other.token });
    expectError(limited, 429, 'RateLimitError');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another user still has budget.
    expect((await call(t.url, 'POST', `/api/jobs/${job.id}/run`, { token: admin })).status).toBe(200);
  });
});

describe('firing', () => {
  it('fires a */2 seconds job exactly at the next run time it showed', async () => {
    const job = await createJob({ name: 'every-2s', task_type: 'probe', schedule: '*/2 * * * * *', params: { tag: 'fire' } });
    const shown: string[] = [job.next_run_time];
    const fired: any[] = [];
    for (let i = 0; i < 3; i++) {
      const want = shown[shown.length - 1]!;
      const run = await waitFor(async () => (await runsOf(job.id)).data.find((r: any) => r.scheduled_for === want && r.status !== 'running'), 6000);
      fired.push(run);
      expect(new Date(run.started_at).getTime() - new Date(want).getTime()).toBeLessThan(2000); // generous: CI shares 2 cores
      shown.push((await getJob(job.id)).next_run_time);
    }
    // Consecutive fires 2 s apart, each at the time shown before it.
    for (let i = 1; i < 3; i++) expect(new Date(shown[i]!).getTime() - new Date(shown[i - 1]!).getTime()).toBe(2000);
    expect(fired.map((r) => r.status)).toEqual(['success', 'success', 'success']);
    // Agenda's state of the fires (written by the run statements on PostgreSQL): last run and finish
    // recorded, the next run the one shown, no failure.
    const [state] = (
      await t.app.deps.pool.query(`SELECT next_run_at, last_run_at, last_finished_at, fail_count FROM agenda_jobs WHERE data->>'jobId' = $1`, [job.id])
    ).rows;
    expect(state.last_run_at.getTime()).toBeGreaterThanOrEqual(new Date(fired[2].started_at).getTime());
    expect(state.last_finished_at.getTime()).toBeGreaterThanOrEqual(new Date(fired[1].finished_at).getTime() - 1000);
    expect(state.next_run_at.getTime()).toBeGreaterThanOrEqual(new Date(shown[3]!).getTime());
    expect(state.fail_count ?? 0).toBe(0);
    await call(t.url, 'POST', `/api/jobs/${job.id}/disable`, { token: admin });
  });

  it('keeps a paginated run history, newest first, with status filters', async () => {
    const job = await createJob({ name: 'history', task_type: 'probe', schedule: '0 0 7 * * *' });
    for (let i = 0; i < 3; i++) await call(t.url, 'POST', `/api/jobs/${job.id}/run`, { token: admin });
    const page1 = await runsOf(job.id, 'per_page=2&page=1');
    expect(page1.pagination).toEqual({ page: 1, per_page: 2, total: 3, pages: 2 });
    const page2 = await runsOf(job.id, 'per_page=2&page=2');
    const ids = [...page1.data, ...page2.data].map((r: any) => r.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect((await runsOf(job.id, 'status=failed')).pagination.total).toBe(0);
    expect((await runsOf(job.id, 'trigger=manual')).pagination.total).toBe(3);
    expectError(await call(t.url, 'GET', `/api/jobs/${job.id}/runs?per_page=0`, { token: admin }), 400, 'ValidationError');
    expectError(await call(t.url, 'GET', `/api/jobs/${job.id}/runs?status=exploded`, { token: admin }), 400, 'ValidationError');
  });

  it('writes runs, failures and schedule changes to the unified log (module scheduler)', async () => {
    const job = await createJob({ name: 'logged', task_type: 'probe', schedule: '0 0 8 * * *', params: { fail: true } });
    await call(t.url, 'POST', `/api/jobs/${job.id}/run`, { token: admin });
    await call(t.url, 'POST', `/api/jobs/${job.id}/pause`, { token: admin });
    const wanted = [`任务已创建: ${job.id}`, `任务开始执行: ${job.id}`, `任务执行失败: ${job.id}`, `任务已暂停: ${job.id}`];
    const rows = await waitFor(async () => {
      const logs = await t.app.deps.prisma.unifiedLog.findMany({ where: { module: 'scheduler', message: { contains: job.id } } });
      return wanted.every((w) => logs.some((l) => l.message.startsWith(w))) && logs;
    }, 10_000);
    expect(rows.find((l) => l.message.startsWith('任务执行失败'))?.level).toBe('ERROR');
  });
});

describe('bad input → 400 ValidationError envelope', () => {
  const base = { name: 'bad', task_type: 'cleanup_logs', schedule: '0 0 1 * * *' };
  it.each([
    ['missing name', { task_type: 'cleanup_logs', schedule: '@daily' }, /name/],
    ['missing task_type', { name: 'x', schedule: '@daily' }, /task_type/],
    ['unknown task_type', { ...base, task_type: 'run_python' }, /task_type 必须是以下之一: sync_accounts, cleanup_logs, auto_classify/],
    ['custom code', { ...base, code: 'def execute_task(): pass' }, /不支持提交代码/],
    ['missing schedule', { name: 'x', task_type: 'cleanup_logs' }, /缺少必需字段: schedule/],
    ['bad seconds', { ...base, schedule: '61 * * * * *' }, /第 1 个字段 秒.*超出范围 0-59/],
    ['too few fields', { ...base, schedule: '* * *' }, /实际为 3 个/],
    ['two schedules', { ...base, interval_seconds: 60 }, /只能指定/],
    ['zero interval', { name: 'x', task_type: 'cleanup_logs', interval_seconds: 0 }, /至少为 1 秒/],
    ['empty interval trigger', { name: 'x', task_type: 'cleanup_logs', trigger_type: 'interval' }, /无效的触发器配置/],
    ['trigger field without trigger_type', { ...base, days: 5 }, /params\.days/],
    ['bad time zone', { ...base, timezone: 'Mars/Olympus' }, /未知的时区/],
    ['db_type on cleanup_logs', { ...base, db_type: 'mysql' }, /cleanup_logs 不支持 db_type/],
    ['days below 1', { ...base, params: { days: 0 } }, /params\.days: days 至少为 1/],
    ['unknown param', { ...base, params: { weeks: 2 } }, /不支持的参数: weeks/],
    ['bad db_type', { ...base, task_type: 'sync_accounts', db_type: 'mongodb' }, /db_type 必须是/],
    ['bad instance ids', { ...base, task_type: 'sync_accounts', params: { instance_ids: [-1] } }, /instance_ids/],
    ['bad id', { ...base, id: 'has spaces' }, /任务 ID 只能包含/],
    ['unknown field', { ...base, colour: 'red' }, /不支持的字段: colour/],
    ['params not an object', { ...base, params: [1] }, /params 必须是 JSON 对象/],
  ])('%s', async (_label, body, message) => {
    const res = await call(t.url, 'POST', '/api/jobs', { token: admin, json: body });
    expectError(res, 400, 'ValidationError');
    expect(res.body.message).toMatch(message);
  });

  it('rejects a malformed body or a bad update, never with a 500', async () => {
    expectError(await call(t.url, 'POST', '/api/jobs', { token: admin, raw: '{"name":' }), 400, 'ValidationError');
    expectError(await call(t.url, 'POST', '/api/jobs', { token: admin, raw: '[1,2]' }), 400, 'ValidationError');
    expectError(await call(t.url, 'PUT', '/api/jobs/sync_accounts', { token: admin, json: { schedule: '0 0 0 30 2 *' } }), 400, 'ValidationError');
    expectError(await call(t.url, 'PUT', '/api/jobs/sync_accounts', { token: admin, json: { task_type: 'cleanup_logs', params: { days: -1 } } }), 400, 'ValidationError');
    expectError(await call(t.url, 'GET', `/api/jobs/${'x'.repeat(101)}`, { token: admin }), 400, 'ValidationError');
    expectError(await call(t.url, 'GET', '/api/jobs?status=sleeping', { token: admin }), 400, 'ValidationError');
    expectError(await call(t.url, 'GET', '/api/jobs?filter=status:sleeping', { token: admin }), 400, 'ValidationError');
  });
});

describe('permissions (scheduler_view / scheduler_manage)', () => {
  let user: string;
  let viewer: string;
  beforeAll(async () => {
    user = (await userWithRole(t.url, admin, 'user')).token;
    viewer = (await userWithRole(t.url, admin, 'viewer')).token;
  });

  const reads = ['/api/jobs', '/scheduler/api/jobs', '/api/jobs/sync_accounts', '/api/jobs/sync_accounts/runs', '/scheduler/api/task-types'];
  const writes: Array<[string, string, unknown?]> = [
    ['POST', '/api/jobs', { name: 'x', task_type: 'cleanup_logs', schedule: '@daily' }],
    ['PUT', '/api/jobs/sync_accounts', { name: 'x' }],
    ['DELETE', '/api/jobs/sync_accounts'],
    ['POST', '/api/jobs/sync_accounts/enable'],
    ['POST', '/api/jobs/sync_accounts/disable'],
    ['POST', '/api/jobs/sync_accounts/pause'],
    ['POST', '/scheduler/api/jobs/sync_accounts/resume'],
    ['POST', '/scheduler/api/jobs/sync_accounts/run'],
  ];

  it('lets a user read but not manage; a viewer neither; anonymous callers get 401', async () => {
    for (const p of reads) {
      expect((await call(t.url, 'GET', p, { token: user })).status, p).toBe(200);
      const v = await call(t.url, 'GET', p, { token: viewer });
      expectError(v, 403, 'AuthorizationError');
      expect(v.body.details.required_permission).toBe('scheduler_view');
      expectError(await call(t.url, 'GET', p), 401, 'AuthenticationError');
    }
    for (const [m, p, body] of writes) {
      const denied = await call(t.url, m, p, { token: user, json: body });
      expectError(denied, 403, 'AuthorizationError');
      expect(denied.body.message).toBe('需要管理员权限才能管理定时任务');
      expectError(await call(t.url, m, p, { json: body }), 401, 'AuthenticationError');
    }
    expect((await getJob('sync_accounts')).status).toBe('active');
  });

  it('applies the same scopes to GraphQL', async () => {
    const read = await gql<JobsQuery>(t.url, '{ jobs { totalCount } }', {}, user);
    expect(read.body.errors).toBeUndefined();
    const denied = await gql(t.url, 'mutation { pauseJob(id: "sync_accounts") { id } }', {}, user);
    expect(denied.body.errors[0]).toMatchObject({ message: '需要管理员权限才能管理定时任务', extensions: { code: 'FORBIDDEN' } });
    const viewerRead = await gql(t.url, '{ jobs { totalCount } }', {}, viewer);
    expect(viewerRead.body.errors[0].extensions.code).toBe('FORBIDDEN');
  });
});

describe('GraphQL', () => {
  const FIELDS = 'id name taskType dbType params schedule triggerType intervalSeconds timezone status isPaused isEnabled nextRunTime running lastRun { id status result sessionId }';

  it('creates, reads, updates, pauses, resumes, disables, enables, runs and deletes a job', async () => {
    const created = await gql<CreateJobMutation>(
      t.url,
      `mutation($input: CreateJobInput!) { createJob(input: $input) { ${FIELDS} } }`,
      { input: { name: 'gql job', taskType: 'probe', trigger: { type: 'interval', minutes: 5 }, params: { tag: 'gql' } } },
      admin,
    );
    expect(created.body.errors).toBeUndefined();
    const job = created.body.data.createJob;
    expect(job).toMatchObject({ taskType: 'probe', schedule: 'every 5 minutes', triggerType: 'interval', intervalSeconds: 300, status: 'active', params: { tag: 'gql', sleep_ms: 0, fail: false, hang: false } });

    const one = await gql<JobQuery>(t.url, `query($id: ID!) { job(id: $id) { ${FIELDS} } }`, { id: job.id }, admin);
    expect(one.body.data.job.nextRunTime).toBe(job.nextRunTime);

    const upd = await gql<UpdateJobMutation>(t.url, `mutation($id: ID!, $input: UpdateJobInput!) { updateJob(id: $id, input: $input) { ${FIELDS} } }`, { id: job.id, input: { schedule: '0 0 9 * * *', timezone: 'Asia/Shanghai' } }, admin);
    expect(upd.body.data.updateJob).toMatchObject({ schedule: '0 0 9 * * *', triggerType: 'cron', timezone: 'Asia/Shanghai' });
    expect(new Date(upd.body.data.updateJob.nextRunTime!).getUTCHours()).toBe(1);

    const paused = await gql<PauseJobMutation>(t.url, `mutation($id: ID!) { pauseJob(id: $id) { ${FIELDS} } }`, { id: job.id }, admin);
    expect(paused.body.data.pauseJob).toMatchObject({ status: 'paused', nextRunTime: null });
    const resumed = await gql(t.url, `mutation($id: ID!) { resumeJob(id: $id) { status nextRunTime } }`, { id: job.id }, admin);
    expect(resumed.body.data.resumeJob.status).toBe('active');
    const disabled = await gql(t.url, `mutation($id: ID!) { disableJob(id: $id) { status } }`, { id: job.id }, admin);
    expect(disabled.body.data.disableJob.status).toBe('disabled');
    const refused = await gql(t.url, `mutation($id: ID!) { runJob(id: $id) { id } }`, { id: job.id }, admin);
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'CONFLICT', status: 409 });
    const enabled = await gql(t.url, `mutation($id: ID!) { enableJob(id: $id) { status } }`, { id: job.id }, admin);
    expect(enabled.body.data.enableJob.status).toBe('active');

    const ran = await gql<RunJobMutation>(t.url, `mutation($id: ID!) { runJob(id: $id) { id jobId trigger status result details error } }`, { id: job.id }, admin);
    expect(ran.body.data.runJob).toMatchObject({ jobId: job.id, trigger: 'manual', status: 'success', result: 'probe ok (gql)' });

    const runs = await gql<JobRunsQuery>(t.url, `query($id: ID!) { jobRuns(jobId: $id) { totalCount nodes { id status } } }`, { id: job.id }, admin);
    expect(runs.body.data.jobRuns).toMatchObject({ totalCount: 1, nodes: [{ id: ran.body.data.runJob.id, status: 'success' }] });

    const list = await gql<JobsQuery>(t.url, `{ jobs(search: "gql job") { totalCount nodes { id lastRun { id } } } }`, {}, admin);
    expect(list.body.data.jobs).toMatchObject({ totalCount: 1, nodes: [{ id: job.id, lastRun: { id: ran.body.data.runJob.id } }] });

    const del = await gql(t.url, `mutation($id: ID!) { deleteJob(id: $id) }`, { id: job.id }, admin);
    expect(del.body.data.deleteJob).toBe(job.id);
    const gone = await gql(t.url, `query($id: ID!) { job(id: $id) { id } }`, { id: job.id }, admin);
    expect(gone.body.errors[0].extensions).toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });

  it('lists the accepted task types and validates input', async () => {
    const types = await gql<TaskTypesQuery>(t.url, '{ taskTypes { name label params usesDbType } }', {}, admin);
    const names = types.body.data.taskTypes.map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['sync_accounts', 'cleanup_logs', 'auto_classify']));
    const bad = await gql(t.url, 'mutation { createJob(input: { name: "x", taskType: "cleanup_logs", schedule: "0 0 25 * * *" }) { id } }', {}, admin);
    expect(bad.body.errors[0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    expect(bad.body.errors[0].message).toMatch(/第 3 个字段 时/);
    const filtered = await gql<JobsQuery>(t.url, '{ jobs(status: disabled, taskType: "probe") { nodes { status taskType } } }', {}, admin);
    expect(filtered.body.data.jobs.nodes.every((n) => n.status === 'disabled' && n.taskType === 'probe')).toBe(true);
  });
});

describe('state across restarts', () => {
  it('keeps paused and disabled jobs as they were; only active jobs have an Agenda job', async () => {
    const p = await createJob({ name: 'stay-paused', task_type: 'probe', schedule: '* * * * * *' });
    const d = await createJob({ name: 'stay-disabled', task_type: 'probe', schedule: '* * * * * *' });
    await call(t.url, 'POST', `/api/jobs/${p.id}/pause`, { token: admin });
    await call(t.url, 'POST', `/api/jobs/${d.id}/disable`, { token: admin });
    const replica = await startReplica(t.databaseUrl, t.redisPrefix, FAST_SCHEDULER_ENV);
    try {
      addProbe(replica.scheduler);
      const seen = async (id: string) => (await call(replica.url, 'GET', `/api/jobs/${id}`, { token: admin })).body.data;
      expect(await seen(p.id)).toMatchObject({ status: 'paused', next_run_time: null });
      expect(await seen(d.id)).toMatchObject({ status: 'disabled', next_run_time: null });
      const before = probeCalls.filter((c) => c.jobId === p.id || c.jobId === d.id).length;
      await sleep(1500);
      expect(probeCalls.filter((c) => c.jobId === p.id || c.jobId === d.id).length).toBe(before);
      expect(await agendaJobsOf(p.id)).toEqual([]);
      expect(await agendaJobsOf(d.id)).toEqual([]);
    } finally {
      await replica.close();
    }
  });
});
