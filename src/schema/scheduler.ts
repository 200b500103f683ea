/** Scheduler: jobs (whitelisted task types on cron or interval schedules), their runs, and the job actions. */
import { builder, scopesFor } from './builder.js';
import { connectionType, pagingArgs } from './common.js';
import { execute } from '../resolvers/operation.js';
import * as ops from '../resolvers/scheduler.js';
import type { JobRun } from '../generated/prisma/client.js';
import type { JobView, TaskTypeInfo } from '../services/scheduler/scheduler-service.js';

export const JobStatusEnum = builder.enumType('JobStatus', {
  description: 'active: fires on schedule; paused: skips its fires but can run now; disabled: off entirely (no fires, no run-now)',
  values: ['active', 'paused', 'disabled'] as const,
});

export const JobRunStatusEnum = builder.enumType('JobRunStatus', {
  description:
    'running; success; failed; skipped (a fire while the previous run was still running, or later than the misfire grace); interrupted (its process stopped or died)',
  values: ['running', 'success', 'failed', 'skipped', 'interrupted'] as const,
});

export const JobRunTriggerEnum = builder.enumType('JobRunTrigger', {
  description: 'scheduled: a fire of the schedule; manual: run now',
  values: ['scheduled', 'manual'] as const,
});

export const TriggerTypeEnum = builder.enumType('JobTriggerType', {
  values: ['cron', 'interval'] as const,
});

export const JobRunRef = builder.objectRef<JobRun>('JobRun').implement({
  description: 'One execution of a scheduled job',
  fields: (t) => ({
    id: t.exposeID('id'),
    jobId: t.exposeID('jobId'),
    taskType: t.exposeString('taskType'),
    trigger: t.field({ type: JobRunTriggerEnum, resolve: (r) => r.trigger }),
    triggeredBy: t.exposeID('triggeredBy', { nullable: true, description: 'user id of a run-now' }),
    status: t.field({ type: JobRunStatusEnum, resolve: (r) => r.status }),
    scheduledFor: t.expose('scheduledFor', { type: 'DateTime', nullable: true, description: 'the fire time the schedule asked for (null for run-now)' }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    durationMs: t.exposeInt('durationMs', { nullable: true }),
    result: t.exposeString('message', { nullable: true, description: 'human-readable outcome' }),
    details: t.field({ type: 'JSON', nullable: true, description: 'structured outcome (counts)', resolve: (r) => r.result }),
    error: t.exposeString('error', { nullable: true }),
    sessionId: t.exposeString('sessionId', { nullable: true, description: 'the sync session this run started' }),
    batchId: t.exposeString('batchId', { nullable: true, description: 'the classification batch this run started' }),
    node: t.exposeString('node', { nullable: true, description: 'the gateway process that ran it' }),
  }),
});

export const ScheduledJobRef = builder.objectRef<JobView>('ScheduledJob').implement({
  description: 'A scheduled job: a whitelisted task type with validated parameters on a cron or interval schedule',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    taskType: t.exposeString('taskType', { description: 'one of Query.taskTypes' }),
    dbType: t.exposeString('dbType', { nullable: true }),
    params: t.field({ type: 'JSON', resolve: (j) => j.params }),
    schedule: t.exposeString('schedule', { description: 'canonical: 6-field cron (second minute hour day month weekday) or "every N units"' }),
    triggerType: t.field({ type: TriggerTypeEnum, resolve: (j) => j.triggerType }),
    trigger: t.exposeString('trigger', { description: "upstream repr, e.g. interval[0:30:00] or cron[…]" }),
    cronExpression: t.exposeString('cronExpression', { nullable: true }),
    intervalSeconds: t.exposeInt('intervalSeconds', { nullable: true }),
    timezone: t.exposeString('timezone', { description: 'IANA zone the cron is read in (default UTC)' }),
    description: t.exposeString('description', { nullable: true }),
    isBuiltin: t.exposeBoolean('isBuiltin', { description: 'created as a default job of the installation' }),
    isPaused: t.exposeBoolean('isPaused'),
    isEnabled: t.exposeBoolean('isEnabled'),
    status: t.field({ type: JobStatusEnum, resolve: (j) => j.status }),
    nextRunTime: t.expose('nextRunTime', { type: 'DateTime', nullable: true, description: 'when the scheduler fires it next (null unless active)' }),
    running: t.exposeBoolean('running'),
    lastRun: t.field({ type: JobRunRef, nullable: true, resolve: (j) => j.lastRun }),
    createdBy: t.exposeID('createdBy', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const TaskTypeRef = builder.objectRef<TaskTypeInfo>('TaskType').implement({
  description: 'A task type a job may run (the only things the scheduler can do)',
  fields: (t) => ({
    name: t.exposeString('name'),
    label: t.exposeString('label'),
    description: t.exposeString('description'),
    params: t.field({ type: 'JSON', description: 'parameter name → description', resolve: (x) => x.params }),
    usesDbType: t.exposeBoolean('usesDbType'),
  }),
});

const ScheduledJobConnection = connectionType('ScheduledJob', ScheduledJobRef);
const JobRunConnection = connectionType('JobRun', JobRunRef);

const JobTriggerInput = builder.inputType('JobTriggerInput', {
  description: 'Upstream APScheduler trigger: type cron (second … dayOfWeek; dayOfWeek numbers mon=0) or interval (weeks … seconds)',
  fields: (t) => ({
    type: t.string({ required: true, description: 'cron or interval' }),
    second: t.string(),
    minute: t.string(),
    hour: t.string(),
    day: t.string(),
    month: t.string(),
    dayOfWeek: t.string(),
    weeks: t.float(),
    days: t.float(),
    hours: t.float(),
    minutes: t.float(),
    seconds: t.float(),
  }),
});

const CreateJobInput = builder.inputType('CreateJobInput', {
  description: 'A new job: exactly one of schedule, intervalSeconds or trigger',
  fields: (t) => ({
    id: t.string({ description: 'optional; generated when absent (letters, digits, _ . -)' }),
    name: t.string({ required: true }),
    taskType: t.string({ required: true, description: 'one of Query.taskTypes' }),
    dbType: t.string({ description: 'sync_accounts only: postgresql, mysql, sqlserver or oracle' }),
    params: t.field({ type: 'JSON', description: 'task parameters, snake_case keys (see Query.taskTypes)' }),
    schedule: t.string({ description: '"0 */30 * * * *", "*/5 * * * *", "every 30 minutes", "@every 1h30m", "@daily"' }),
    intervalSeconds: t.int(),
    trigger: t.field({ type: JobTriggerInput }),
    timezone: t.string({ description: 'IANA zone for cron schedules (default UTC)' }),
    description: t.string(),
    enabled: t.boolean({ description: 'default true' }),
    paused: t.boolean({ description: 'default false' }),
  }),
});

const UpdateJobInput = builder.inputType('UpdateJobInput', {
  description: 'Fields to change; a new schedule, time zone or task type reschedules the job from now',
  fields: (t) => ({
    name: t.string(),
    taskType: t.string(),
    dbType: t.string({ description: 'null clears the db type filter' }),
    params: t.field({ type: 'JSON', description: 'replaces the parameters' }),
    schedule: t.string(),
    intervalSeconds: t.int(),
    trigger: t.field({ type: JobTriggerInput }),
    timezone: t.string(),
    description: t.string(),
  }),
});

type TriggerArg = { type: string; [k: string]: unknown } | null | undefined;

/** Input fields where null means "clear it"; for the others null is the same as absent. */
const CLEARABLE = new Set(['dbType', 'description', 'timezone']);

/** GraphQL's nested trigger → the flat shape the operation (and REST) use. */
function flatten(input: { trigger?: TriggerArg } & Record<string, unknown>): Record<string, unknown> {
  const { trigger, ...rest } = input;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (v === undefined || (v === null && !CLEARABLE.has(k))) continue;
    out[k] = v;
  }
  if (trigger) {
    const { type, ...fields } = trigger;
    out.triggerType = type;
    for (const [k, v] of Object.entries(fields)) if (v !== null && v !== undefined) out[k] = v;
  }
  return out;
}

builder.queryFields((t) => ({
  jobs: t.field({
    type: ScheduledJobConnection,
    description: 'Scheduled jobs, by id; filter by status, task type and search (id or name contains)',
    authScopes: scopesFor(ops.listJobsOp.requires),
    args: {
      ...pagingArgs(t.arg),
      search: t.arg.string(),
      status: t.arg({ type: JobStatusEnum }),
      taskType: t.arg.string(),
      sort: t.arg.string({ description: 'id, name, task_type, created_at, updated_at' }),
      order: t.arg.string({ description: 'asc or desc' }),
    },
    resolve: (_root, args, ctx) => execute(ops.listJobsOp, ctx, args),
  }),
  job: t.field({
    type: ScheduledJobRef,
    authScopes: scopesFor(ops.getJobOp.requires),
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => execute(ops.getJobOp, ctx, { id: String(args.id) }),
  }),
  jobRuns: t.field({
    type: JobRunConnection,
    description: 'Run history of a job, newest first',
    authScopes: scopesFor(ops.jobRunsOp.requires),
    args: {
      jobId: t.arg.id({ required: true }),
      ...pagingArgs(t.arg),
      status: t.arg({ type: JobRunStatusEnum }),
      trigger: t.arg({ type: JobRunTriggerEnum }),
      order: t.arg.string({ description: 'asc or desc (default desc)' }),
    },
    resolve: (_root, args, ctx) => execute(ops.jobRunsOp, ctx, { ...args, jobId: String(args.jobId) }),
  }),
  taskTypes: t.field({
    type: [TaskTypeRef],
    authScopes: scopesFor(ops.taskTypesOp.requires),
    resolve: (_root, _args, ctx) => execute(ops.taskTypesOp, ctx, {}),
  }),
}));

const jobAction = (op: typeof ops.enableJobOp, description: string) =>
  builder.mutationField(op.name, (t) =>
    t.field({
      type: ScheduledJobRef,
      description,
      authScopes: scopesFor(op.requires),
      args: { id: t.arg.id({ required: true }) },
      resolve: (_root, args, ctx) => execute(op, ctx, { id: String(args.id) }),
    }),
  );

jobAction(ops.enableJobOp, 'Enables a disabled job; its next run is computed from now');
jobAction(ops.disableJobOp, 'Disables a job: no fires and no run-now until enabled');
jobAction(ops.pauseJobOp, 'Pauses a job: its fires are skipped, run-now still works');
jobAction(ops.resumeJobOp, 'Resumes a paused job; its next run is computed from now (missed fires are not replayed)');

builder.mutationFields((t) => ({
  createJob: t.field({
    type: ScheduledJobRef,
    authScopes: scopesFor(ops.createJobOp.requires),
    args: { input: t.arg({ type: CreateJobInput, required: true }) },
    resolve: (_root, { input }, ctx) => execute(ops.createJobOp, ctx, flatten(input)),
  }),
  updateJob: t.field({
    type: ScheduledJobRef,
    authScopes: scopesFor(ops.updateJobOp.requires),
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateJobInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => execute(ops.updateJobOp, ctx, { ...flatten(input), id: String(id) }),
  }),
  deleteJob: t.field({
    type: 'ID',
    description: 'Deletes a job (default jobs too; they are not re-created); returns its id',
    authScopes: scopesFor(ops.deleteJobOp.requires),
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => (await execute(ops.deleteJobOp, ctx, { id: String(args.id) })).id,
  }),
  runJob: t.field({
    type: JobRunRef,
    description: 'Runs a job now (not a disabled one); returns the run once it started its sync session, or finished',
    authScopes: scopesFor(ops.runJobOp.requires),
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => execute(ops.runJobOp, ctx, { id: String(args.id) }),
  }),
}));
