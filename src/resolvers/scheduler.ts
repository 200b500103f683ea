/**
 * Scheduler operations (SPEC §4.6, issue 7), shared by the GraphQL fields and the /api/jobs and
 * /scheduler/api/jobs routes. Reads need scheduler_view, writes scheduler_manage (admin only).
 */
import { z } from 'zod';
import { operation } from './operation.js';
import type { Ctx } from '../context.js';
import { ValidationError } from '../lib/errors.js';
import { listQuerySchema } from '../lib/pagination.js';
import { looseBoolean } from '../lib/schemas.js';
import { parseInput } from '../lib/validation.js';
import { SchedulerUnavailableError, type Scheduler } from '../services/scheduler/scheduler-service.js';
import { parseScheduleText, scheduleFromSeconds, scheduleFromTrigger, type Schedule } from '../services/scheduler/schedule.js';

function scheduler(ctx: Ctx): Scheduler {
  const s = ctx.deps.scheduler;
  if (!s) throw new SchedulerUnavailableError('调度器未启动');
  return s;
}

/** Path and argument ids: any stored id can be looked up; malformed ones are simply not found. */
const jobRef = z
  .string({ required_error: '缺少任务 ID', invalid_type_error: '任务 ID 必须是字符串' })
  .trim()
  .min(1, '任务 ID 不能为空')
  .max(100, '任务 ID 最长 100 个字符');

/** New ids: what upstream used ("sync_accounts"), safe in URLs. */
const newJobId = jobRef.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, '任务 ID 只能包含字母、数字、下划线、点和连字符，且以字母或数字开头');

const text = (field: string, max: number) =>
  z.string({ invalid_type_error: `${field} 必须是字符串` }).trim().max(max, `${field} 最长 ${max} 个字符`);

const requiredText = (field: string, max: number) =>
  z
    .string({ required_error: `缺少必需字段: ${field}`, invalid_type_error: `${field} 必须是字符串` })
    .trim()
    .min(1, `${field} 不能为空`)
    .max(max, `${field} 最长 ${max} 个字符`);

const cronField = z.union([text('cron 字段', 100), z.number().int()], { errorMap: () => ({ message: '必须是 cron 字段表达式 (字符串或整数)' }) }).optional();
const amount = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v),
  z.number({ invalid_type_error: '必须是数字' }).min(0, '不能为负数'),
);
const paramsObject = z.record(z.unknown(), { invalid_type_error: 'params 必须是 JSON 对象' });

/** Every way a schedule can be given: `schedule`, `interval_seconds`, or an upstream trigger payload. */
const scheduleFields = {
  schedule: text('schedule', 200).optional(),
  intervalSeconds: z.preprocess(
    (v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v),
    z.number({ invalid_type_error: 'interval_seconds 必须是整数' }).int('interval_seconds 必须是整数'),
  ).optional(),
  triggerType: text('trigger_type', 20).optional(),
  second: cronField,
  minute: cronField,
  hour: cronField,
  day: cronField,
  month: cronField,
  dayOfWeek: cronField,
  week: cronField,
  year: cronField,
  cronSecond: cronField,
  cronMinute: cronField,
  cronHour: cronField,
  weeks: amount.optional(),
  days: amount.optional(),
  hours: amount.optional(),
  minutes: amount.optional(),
  seconds: amount.optional(),
};

const definitionFields = {
  dbType: z.union([text('db_type', 50), z.null()]).optional(),
  params: paramsObject.optional(),
  /** Upstream spelling of params. */
  kwargs: paramsObject.optional(),
  timezone: z.union([text('timezone', 64), z.null()]).optional(),
  description: z.union([text('description', 2000), z.null()]).optional(),
  ...scheduleFields,
  // Upstream fields for custom code jobs: named so the answer says why they are refused.
  code: z.unknown().optional(),
  func: z.unknown().optional(),
  args: z.unknown().optional(),
};

type ScheduleInput = { [K in keyof typeof scheduleFields]?: z.output<(typeof scheduleFields)[K]> };

const TRIGGER_ONLY = ['second', 'minute', 'hour', 'day', 'month', 'dayOfWeek', 'week', 'year', 'cronSecond', 'cronMinute', 'cronHour', 'weeks', 'days', 'hours', 'minutes', 'seconds'] as const;
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function fieldError(field: string, message: string): ValidationError {
  return new ValidationError(`${snake(field)}: ${message}`, { errors: [{ field, message }] });
}

/** The one schedule an input describes (undefined when it describes none). */
export function scheduleFromInput(i: ScheduleInput): Schedule | undefined {
  const given = (['schedule', 'intervalSeconds', 'triggerType'] as const).filter((k) => i[k] !== undefined);
  if (given.length > 1) throw fieldError('schedule', `只能指定 schedule、interval_seconds、trigger_type 之一，收到: ${given.map(snake).join(', ')}`);
  if (!given.length || i.schedule !== undefined || i.intervalSeconds !== undefined) {
    const stray = TRIGGER_ONLY.filter((k) => i[k] !== undefined);
    if (stray.length) {
      const hint = stray.includes('days') ? ' (日志保留天数请放在 params.days)' : '';
      throw fieldError(stray[0]!, `${stray.map(snake).join(', ')} 只能与 trigger_type 一起使用${hint}`);
    }
  }
  if (i.schedule !== undefined) return parseScheduleText(i.schedule);
  if (i.intervalSeconds !== undefined) return scheduleFromSeconds(i.intervalSeconds);
  if (i.triggerType !== undefined) {
    return scheduleFromTrigger({
      triggerType: i.triggerType,
      second: i.second ?? i.cronSecond,
      minute: i.minute ?? i.cronMinute,
      hour: i.hour ?? i.cronHour,
      day: i.day,
      month: i.month,
      dayOfWeek: i.dayOfWeek,
      week: i.week,
      year: i.year,
      weeks: i.weeks,
      days: i.days,
      hours: i.hours,
      minutes: i.minutes,
      seconds: i.seconds,
    });
  }
  return undefined;
}

function refuseCode(i: { code?: unknown; func?: unknown; args?: unknown }): void {
  if (i.code !== undefined || i.func !== undefined) {
    throw fieldError(i.code !== undefined ? 'code' : 'func', '不支持提交代码的自定义任务，请使用 task_type 选择内置任务类型');
  }
  if (i.args !== undefined) throw fieldError('args', '不支持 args，任务参数请放在 params');
}

function paramsOf(i: { params?: Record<string, unknown>; kwargs?: Record<string, unknown> }): Record<string, unknown> | undefined {
  if (i.params !== undefined && i.kwargs !== undefined) throw fieldError('params', 'params 与 kwargs 只能指定其一');
  return i.params ?? i.kwargs;
}

const JOB_STATUS = z.enum(['active', 'paused', 'disabled'], { errorMap: () => ({ message: 'status 必须是 active、paused 或 disabled' }) });

const listJobsInput = listQuerySchema({
  sortFields: {
    id: 'id',
    name: 'name',
    task_type: 'taskType',
    taskType: 'taskType',
    created_at: 'createdAt',
    createdAt: 'createdAt',
    updated_at: 'updatedAt',
    updatedAt: 'updatedAt',
  },
  defaultSort: 'id',
  defaultOrder: 'asc',
  filterKeys: ['status', 'task_type'] as const,
}).extend({ status: JOB_STATUS.optional(), taskType: text('task_type', 50).optional() });

export const listJobsOp = operation({
  name: 'jobs',
  requires: 'scheduler_view',
  input: listJobsInput,
  run: (ctx, q) =>
    scheduler(ctx).listJobs({
      ...q,
      status: q.status ?? parseInput(JOB_STATUS.optional(), q.filter.status),
      taskType: q.taskType ?? q.filter.task_type,
    }),
});

export const getJobOp = operation({
  name: 'job',
  requires: 'scheduler_view',
  input: z.object({ id: jobRef }),
  run: (ctx, { id }) => scheduler(ctx).getJob(id),
});

export const taskTypesOp = operation({
  name: 'taskTypes',
  requires: 'scheduler_view',
  input: z.object({}),
  run: async (ctx) => scheduler(ctx).taskTypes(),
});

export const createJobOp = operation({
  name: 'createJob',
  requires: 'scheduler_manage',
  input: z
    .object({
      id: newJobId.optional(),
      name: requiredText('name', 255),
      taskType: requiredText('task_type', 50),
      ...definitionFields,
      enabled: looseBoolean.optional(),
      paused: looseBoolean.optional(),
    })
    .strict(),
  run: async (ctx, i) => {
    refuseCode(i);
    const schedule = scheduleFromInput(i);
    if (!schedule) throw fieldError('schedule', '缺少必需字段: schedule (或 interval_seconds、trigger_type)');
    return scheduler(ctx).createJob(
      {
        id: i.id,
        name: i.name,
        taskType: i.taskType,
        dbType: i.dbType,
        params: paramsOf(i),
        schedule,
        timezone: i.timezone,
        description: i.description,
        enabled: i.enabled,
        paused: i.paused,
      },
      ctx.user,
    );
  },
});

export const updateJobOp = operation({
  name: 'updateJob',
  requires: 'scheduler_manage',
  input: z
    .object({
      id: jobRef,
      name: requiredText('name', 255).optional(),
      taskType: requiredText('task_type', 50).optional(),
      ...definitionFields,
    })
    .strict(),
  run: async (ctx, { id, ...i }) => {
    refuseCode(i);
    return scheduler(ctx).updateJob(
      id,
      {
        name: i.name,
        taskType: i.taskType,
        dbType: i.dbType,
        params: paramsOf(i),
        schedule: scheduleFromInput(i),
        timezone: i.timezone,
        description: i.description,
      },
      ctx.user,
    );
  },
});

export const deleteJobOp = operation({
  name: 'deleteJob',
  requires: 'scheduler_manage',
  input: z.object({ id: jobRef }),
  run: (ctx, { id }) => scheduler(ctx).deleteJob(id, ctx.user),
});

export const enableJobOp = operation({
  name: 'enableJob',
  requires: 'scheduler_manage',
  input: z.object({ id: jobRef }),
  run: (ctx, { id }) => scheduler(ctx).setEnabled(id, true, ctx.user),
});

export const disableJobOp = operation({
  name: 'disableJob',
  requires: 'scheduler_manage',
  input: z.object({ id: jobRef }),
  run: (ctx, { id }) => scheduler(ctx).setEnabled(id, false, ctx.user),
});

export const pauseJobOp = operation({
  name: 'pauseJob',
  requires: 'scheduler_manage',
  input: z.object({ id: jobRef }),
  run: (ctx, { id }) => scheduler(ctx).setPaused(id, true, ctx.user),
});

export const resumeJobOp = operation({
  name: 'resumeJob',
  requires: 'scheduler_manage',
  input: z.object({ id: jobRef }),
  run: (ctx, { id }) => scheduler(ctx).setPaused(id, false, ctx.user),
});

export const runJobOp = operation({
  name: 'runJob',
  requires: 'scheduler_manage',
  input: z.object({ id: jobRef }),
  run: async (ctx, { id }) => {
    const s = scheduler(ctx);
    await s.runLimiter.consume(String(ctx.user!.id), '立即执行过于频繁，请稍后再试');
    return s.runNow(id, ctx.user);
  },
});

const RUN_STATUS = z.enum(['running', 'success', 'failed', 'skipped', 'interrupted'], {
  errorMap: () => ({ message: 'status 必须是 running、success、failed、skipped 或 interrupted' }),
});

export const jobRunsOp = operation({
  name: 'jobRuns',
  requires: 'scheduler_view',
  input: listQuerySchema({ sortFields: { started_at: 'startedAt', startedAt: 'startedAt' }, defaultSort: 'startedAt' }).extend({
    jobId: jobRef,
    status: RUN_STATUS.optional(),
    trigger: z.enum(['scheduled', 'manual'], { errorMap: () => ({ message: 'trigger 必须是 scheduled 或 manual' }) }).optional(),
  }),
  run: (ctx, { jobId, ...q }) => scheduler(ctx).listRuns(jobId, q),
});
