/** The job API (SPEC §4.6) at the API document's flat paths (/api/jobs…) and upstream's /scheduler/api/jobs…. */
import type { JobRun } from '../generated/prisma/client.js';
import * as ops from '../resolvers/scheduler.js';
import { JobRunFailedError, type JobView } from '../services/scheduler/scheduler-service.js';
import { sendError, sendPage, sendSuccess } from './envelope.js';
import type { RouteModule } from './route-table.js';
import { iso } from './serializers.js';

const both = (p: string) => [`/api${p}`, `/scheduler/api${p}`];

export function runJson(r: JobRun) {
  return {
    id: r.id,
    job_id: r.jobId,
    task_type: r.taskType,
    trigger: r.trigger,
    triggered_by: r.triggeredBy,
    status: r.status,
    scheduled_for: iso(r.scheduledFor),
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
    duration_ms: r.durationMs,
    /** Upstream's run-now answer is `{result: "<string>"}`. */
    result: r.message,
    details: r.result,
    error: r.error,
    session_id: r.sessionId,
    batch_id: r.batchId,
    params: r.params,
    node: r.node,
  };
}

export function jobJson(j: JobView, misfireGraceSeconds: number) {
  return {
    id: j.id,
    job_id: j.id,
    name: j.name,
    task_type: j.taskType,
    db_type: j.dbType,
    params: j.params,
    schedule: j.schedule,
    trigger_type: j.triggerType,
    trigger: j.trigger,
    cron_expression: j.cronExpression,
    interval_seconds: j.intervalSeconds,
    timezone: j.timezone,
    description: j.description,
    status: j.status,
    is_enabled: j.isEnabled,
    is_paused: j.isPaused,
    is_builtin: j.isBuiltin,
    next_run_time: iso(j.nextRunTime),
    running: j.running,
    last_run: j.lastRun ? runJson(j.lastRun) : null,
    created_by: j.createdBy,
    created_at: iso(j.createdAt),
    updated_at: iso(j.updatedAt),
    // Upstream (APScheduler) job dict fields, for clients of the old API.
    func: j.taskType,
    args: [],
    kwargs: j.params,
    misfire_grace_time: misfireGraceSeconds,
    max_instances: 1,
    coalesce: true,
  };
}

export function schedulerRoutes(api: RouteModule): void {
  const grace = api.deps.config.scheduler.misfireGraceSeconds;
  const job = (j: JobView) => jobJson(j, grace);

  api.get(both('/task-types'), {
    summary: '可用的任务类型及其参数',
    op: ops.taskTypesOp,
    present: (res, types) => sendSuccess(res, types.map((t) => ({ name: t.name, label: t.label, description: t.description, params: t.params, uses_db_type: t.usesDbType }))),
  });
  api.get(both('/jobs'), { summary: '任务列表', op: ops.listJobsOp, from: 'query', response: 'page', present: (res, page) => sendPage(res, page, job) });
  api.post(both('/jobs'), {
    summary: '创建任务 (内置任务类型；schedule、interval_seconds 或 trigger_type 之一)',
    op: ops.createJobOp,
    from: 'body',
    status: 201,
    errors: [409],
    example: { name: '每日清理日志', task_type: 'cleanup_logs', schedule: '0 0 2 * * *', params: { days: 30 }, description: '每天 02:00 UTC 删除 30 天前的日志' },
    present: (res, j) => sendSuccess(res, job(j), '任务创建成功', 201),
  });
  api.get(both('/jobs/:id'), { summary: '任务详情', op: ops.getJobOp, present: (res, j) => sendSuccess(res, job(j)) });
  api.put(both('/jobs/:id'), { summary: '更新任务', op: ops.updateJobOp, from: 'body', errors: [409], example: { schedule: '0 */10 * * * *', description: '每 10 分钟' }, present: (res, j) => sendSuccess(res, job(j), '任务更新成功') });
  api.delete(both('/jobs/:id'), { summary: '删除任务', op: ops.deleteJobOp, present: (res, d) => sendSuccess(res, { id: d.id, job_id: d.id }, '任务删除成功') });
  api.post(both('/jobs/:id/enable'), { summary: '启用任务', op: ops.enableJobOp, present: (res, j) => sendSuccess(res, job(j), '任务已启用') });
  api.post(both('/jobs/:id/disable'), { summary: '禁用任务', op: ops.disableJobOp, present: (res, j) => sendSuccess(res, job(j), '任务已禁用') });
  api.post(both('/jobs/:id/pause'), { summary: '暂停任务', op: ops.pauseJobOp, present: (res, j) => sendSuccess(res, job(j), '任务暂停成功') });
  api.post(both('/jobs/:id/resume'), { summary: '恢复任务', op: ops.resumeJobOp, present: (res, j) => sendSuccess(res, job(j), '任务恢复成功') });
  api.post(both('/jobs/:id/run'), {
    summary: '立即执行任务 (运行失败时 400 JobExecutionError)',
    op: ops.runJobOp,
    errors: [409, 429],
    present: (res, run) => {
      if (run.status === 'failed') {
        sendError(res, new JobRunFailedError(`任务执行失败: ${run.error ?? run.message ?? ''}`, { run: runJson(run) }));
        return;
      }
      sendSuccess(res, runJson(run), run.status === 'running' ? '任务已开始执行' : run.status === 'success' ? '任务执行成功' : '任务已处理');
    },
  });
  api.get(both('/jobs/:id/runs'), { summary: '任务运行历史', op: ops.jobRunsOp, from: 'query', params: { id: 'jobId' }, response: 'page', present: (res, page) => sendPage(res, page, runJson) });
}
