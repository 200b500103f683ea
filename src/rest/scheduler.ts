/** The job API (SPEC §4.6) at the API document's flat paths (/api/jobs…) and upstream's /scheduler/api/jobs…. */
import { Router, type Request } from 'express';
import type { AppDeps } from '../deps.js';
import type { JobRun } from '../generated/prisma/client.js';
import * as ops from '../resolvers/scheduler.js';
import { JobRunFailedError, type JobView } from '../services/scheduler/scheduler-service.js';
import { sendError, sendPage, sendSuccess } from './envelope.js';
import { bodyInput, queryInput, rest } from './handler.js';
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

export function schedulerRoutes(deps: AppDeps): Router {
  const r = Router();
  const grace = deps.config.scheduler.misfireGraceSeconds;
  const job = (j: JobView) => jobJson(j, grace);
  const idOf = (req: Request) => ({ id: req.params.id });

  r.get(both('/task-types'), rest(deps, ops.taskTypesOp, () => ({}), (res, types) =>
    sendSuccess(res, types.map((t) => ({ name: t.name, label: t.label, description: t.description, params: t.params, uses_db_type: t.usesDbType }))),
  ));
  r.get(both('/jobs'), rest(deps, ops.listJobsOp, queryInput, (res, page) => sendPage(res, page, job)));
  r.post(both('/jobs'), rest(deps, ops.createJobOp, bodyInput, (res, j) => sendSuccess(res, job(j), '任务创建成功', 201)));
  r.get(both('/jobs/:id'), rest(deps, ops.getJobOp, idOf, (res, j) => sendSuccess(res, job(j))));
  r.put(
    both('/jobs/:id'),
    rest(deps, ops.updateJobOp, (req) => ({ ...bodyInput(req), id: req.params.id }), (res, j) => sendSuccess(res, job(j), '任务更新成功')),
  );
  r.delete(both('/jobs/:id'), rest(deps, ops.deleteJobOp, idOf, (res, d) => sendSuccess(res, { id: d.id, job_id: d.id }, '任务删除成功')));
  r.post(both('/jobs/:id/enable'), rest(deps, ops.enableJobOp, idOf, (res, j) => sendSuccess(res, job(j), '任务已启用')));
  r.post(both('/jobs/:id/disable'), rest(deps, ops.disableJobOp, idOf, (res, j) => sendSuccess(res, job(j), '任务已禁用')));
  r.post(both('/jobs/:id/pause'), rest(deps, ops.pauseJobOp, idOf, (res, j) => sendSuccess(res, job(j), '任务暂停成功')));
  r.post(both('/jobs/:id/resume'), rest(deps, ops.resumeJobOp, idOf, (res, j) => sendSuccess(res, job(j), '任务恢复成功')));
  r.post(
    both('/jobs/:id/run'),
    rest(deps, ops.runJobOp, idOf, (res, run) => {
      if (run.status === 'failed') {
        sendError(res, new JobRunFailedError(`任务执行失败: ${run.error ?? run.message ?? ''}`, { run: runJson(run) }));
        return;
      }
      sendSuccess(res, runJson(run), run.status === 'running' ? '任务已开始执行' : run.status === 'success' ? '任务执行成功' : '任务已处理');
    }),
  );
  r.get(
    both('/jobs/:id/runs'),
    rest(deps, ops.jobRunsOp, (req) => ({ ...queryInput(req), jobId: req.params.id }), (res, page) => sendPage(res, page, runJson)),
  );
  return r;
}
