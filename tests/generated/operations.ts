/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** A new job: exactly one of schedule, intervalSeconds or trigger */
export type CreateJobInput = {
  /** sync_accounts only: postgresql, mysql, sqlserver or oracle */
  dbType?: string | null | undefined;
  description?: string | null | undefined;
  /** default true */
  enabled?: boolean | null | undefined;
  /** optional; generated when absent (letters, digits, _ . -) */
  id?: string | null | undefined;
  intervalSeconds?: number | null | undefined;
  name: string;
  /** task parameters, snake_case keys (see Query.taskTypes) */
  params?: unknown;
  /** default false */
  paused?: boolean | null | undefined;
  /** "0 *\/30 * * * *", "*\/5 * * * *", "every 30 minutes", "@every 1h30m", "@daily" */
  schedule?: string | null | undefined;
  /** one of Query.taskTypes */
  taskType: string;
  /** IANA zone for cron schedules (default UTC) */
  timezone?: string | null | undefined;
  trigger?: JobTriggerInput | null | undefined;
};

export type CreateUserInput = {
  email?: string | null | undefined;
  isActive?: boolean | null | undefined;
  /** at least 8 characters with upper, lower case and a digit */
  password: string;
  role?: UserRole | null | undefined;
  /** 3-20 letters, digits or underscores */
  username: string;
};

/** A drift item to accept, as the report shows it (privilege only for privilege items) */
export type DriftItemInput = {
  account: string;
  kind: DriftKind;
  privilege?: string | null | undefined;
};

/** extra_account: on the instance, not in the baseline; missing_account: the reverse; extra_privilege / missing_privilege: a privilege line of an account present on both sides */
export type DriftKind =
  | 'extra_account'
  | 'extra_privilege'
  | 'missing_account'
  | 'missing_privilege';

export type GrantExportFormat =
  | 'csv'
  | 'text';

/** running; success; failed; skipped (a fire while the previous run was still running, or later than the misfire grace); interrupted (its process stopped or died) */
export type JobRunStatus =
  | 'failed'
  | 'interrupted'
  | 'running'
  | 'skipped'
  | 'success';

/** scheduled: a fire of the schedule; manual: run now */
export type JobRunTrigger =
  | 'manual'
  | 'scheduled';

/** active: fires on schedule; paused: skips its fires but can run now; disabled: off entirely (no fires, no run-now) */
export type JobStatus =
  | 'active'
  | 'disabled'
  | 'paused';

/** Upstream APScheduler trigger: type cron (second … dayOfWeek; dayOfWeek numbers mon=0) or interval (weeks … seconds) */
export type JobTriggerInput = {
  day?: string | null | undefined;
  dayOfWeek?: string | null | undefined;
  days?: number | null | undefined;
  hour?: string | null | undefined;
  hours?: number | null | undefined;
  minute?: string | null | undefined;
  minutes?: number | null | undefined;
  month?: string | null | undefined;
  second?: string | null | undefined;
  seconds?: number | null | undefined;
  /** cron or interval */
  type: string;
  weeks?: number | null | undefined;
};

export type JobTriggerType =
  | 'cron'
  | 'interval';

export type LogLevel =
  | 'CRITICAL'
  | 'ERROR'
  | 'INFO'
  | 'WARNING';

export type Permission =
  | 'admin'
  | 'create'
  | 'delete'
  | 'scheduler_manage'
  | 'scheduler_view'
  | 'update'
  | 'view';

export type SortOrder =
  | 'asc'
  | 'desc';

/** Fields to change; a new schedule, time zone or task type reschedules the job from now */
export type UpdateJobInput = {
  /** null clears the db type filter */
  dbType?: string | null | undefined;
  description?: string | null | undefined;
  intervalSeconds?: number | null | undefined;
  name?: string | null | undefined;
  /** replaces the parameters */
  params?: unknown;
  schedule?: string | null | undefined;
  taskType?: string | null | undefined;
  timezone?: string | null | undefined;
  trigger?: JobTriggerInput | null | undefined;
};

export type UpdateUserInput = {
  email?: string | null | undefined;
  isActive?: boolean | null | undefined;
  /** empty or absent keeps the current password */
  password?: string | null | undefined;
  role?: UserRole | null | undefined;
  username?: string | null | undefined;
};

/** admin: every permission; user: view and scheduler_view; viewer: none */
export type UserRole =
  | 'admin'
  | 'user'
  | 'viewer';

export type UserStatus =
  | 'active'
  | 'inactive';

export type LoginMutationVariables = Exact<{
  username: string;
  password: string;
}>;


export type LoginMutation = { login: { accessToken: string, refreshToken: string, user: { id: string, username: string, role: UserRole } } };

export type RefreshMutationVariables = Exact<{
  refreshToken?: string | null | undefined;
}>;


export type RefreshMutation = { refresh: { accessToken: string, expiresIn: number } };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { id: string, username: string, role: string, permissions: Array<Permission> } };

export type LogCreatedSubscriptionVariables = Exact<{
  minLevel?: LogLevel | null | undefined;
  module?: string | null | undefined;
}>;


export type LogCreatedSubscription = { logCreated: { id: number, level: string, module: string, message: string, context: unknown } };

export type CreateBaselineMutationVariables = Exact<{
  instanceId?: string | number | null | undefined;
  tag?: string | null | undefined;
}>;


export type CreateBaselineMutation = { createBaseline: Array<{ id: string, instanceId: string, tagName: string | null, groupId: string, accountCount: number, frozenBy: { id: string, username: string } | null }> };

export type BaselineQueryVariables = Exact<{
  instanceId: string | number;
}>;


export type BaselineQuery = { baseline: { id: string, instanceId: string, accountCount: number, acceptedAt: string | null, acceptedBy: { id: string, username: string } | null, accounts: Array<{ account: string, privileges: Array<string> }> } };

export type DriftReportQueryVariables = Exact<{
  instanceId: string | number;
}>;


export type DriftReportQuery = { driftReport: { instanceId: string, baselineId: string, hasDrift: boolean, lastSessionId: string | null, summary: { extraAccounts: number, missingAccounts: number, extraPrivileges: number, missingPrivileges: number, total: number }, items: Array<{ kind: DriftKind, account: string, privilege: string | null, privileges: Array<string> }> } };

export type AcceptDriftMutationVariables = Exact<{
  instanceId: string | number;
  items: Array<DriftItemInput> | DriftItemInput;
}>;


export type AcceptDriftMutation = { acceptDrift: { hasDrift: boolean, summary: { total: number }, items: Array<{ kind: DriftKind, account: string, privilege: string | null }> } };

export type GrantExportQueryVariables = Exact<{
  instanceId: string | number;
  format?: GrantExportFormat | null | undefined;
}>;


export type GrantExportQuery = { grantExport: string };

export type AccountsAtQueryVariables = Exact<{
  instanceId: string | number;
  at: string;
  privilege?: string | null | undefined;
  database?: string | null | undefined;
  role?: string | null | undefined;
  rule?: unknown;
  isSuperuser?: boolean | null | undefined;
  isLocked?: boolean | null | undefined;
  includeDeleted?: boolean | null | undefined;
  search?: string | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
  perPage?: number | null | undefined;
}>;


export type AccountsAtQuery = { accountsAt: { totalCount: number, edges: Array<{ cursor: string, node: { id: string, versionId: string, username: string, dbType: string, isSuperuser: boolean, isActive: boolean, isLocked: boolean, isDeleted: boolean, changeType: string, validFrom: string, validTo: string | null, privileges: unknown, instance: { id: string, name: string } } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null, page: number, perPage: number, pages: number } } };

export type LogStreamSubscriptionVariables = Exact<{
  level?: LogLevel | null | undefined;
  minLevel?: LogLevel | null | undefined;
  module?: string | null | undefined;
  search?: string | null | undefined;
  afterId?: number | null | undefined;
}>;


export type LogStreamSubscription = { logStream: { dropped: number, replayed: boolean, entry: { id: number, level: string, module: string, message: string, requestId: string | null } } };

export type JobRunFieldsFragment = { id: string, jobId: string, taskType: string, trigger: JobRunTrigger, triggeredBy: string | null, status: JobRunStatus, scheduledFor: string | null, startedAt: string, finishedAt: string | null, durationMs: number | null, result: string | null, details: unknown, error: string | null, sessionId: string | null, batchId: string | null, node: string | null };

export type JobFieldsFragment = { id: string, name: string, taskType: string, dbType: string | null, params: unknown, schedule: string, triggerType: JobTriggerType, trigger: string, cronExpression: string | null, intervalSeconds: number | null, timezone: string, description: string | null, isBuiltin: boolean, isPaused: boolean, isEnabled: boolean, status: JobStatus, nextRunTime: string | null, running: boolean, createdBy: string | null, createdAt: string, updatedAt: string, lastRun: { id: string, jobId: string, taskType: string, trigger: JobRunTrigger, triggeredBy: string | null, status: JobRunStatus, scheduledFor: string | null, startedAt: string, finishedAt: string | null, durationMs: number | null, result: string | null, details: unknown, error: string | null, sessionId: string | null, batchId: string | null, node: string | null } | null };

export type JobsQueryVariables = Exact<{
  page?: number | null | undefined;
  perPage?: number | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
  search?: string | null | undefined;
  status?: JobStatus | null | undefined;
  taskType?: string | null | undefined;
  sort?: string | null | undefined;
  order?: string | null | undefined;
}>;


export type JobsQuery = { jobs: { totalCount: number, pageInfo: { hasNextPage: boolean, page: number, perPage: number, pages: number }, nodes: Array<{ id: string, name: string, taskType: string, dbType: string | null, params: unknown, schedule: string, triggerType: JobTriggerType, trigger: string, cronExpression: string | null, intervalSeconds: number | null, timezone: string, description: string | null, isBuiltin: boolean, isPaused: boolean, isEnabled: boolean, status: JobStatus, nextRunTime: string | null, running: boolean, createdBy: string | null, createdAt: string, updatedAt: string, lastRun: { id: string, jobId: string, taskType: string, trigger: JobRunTrigger, triggeredBy: string | null, status: JobRunStatus, scheduledFor: string | null, startedAt: string, finishedAt: string | null, durationMs: number | null, result: string | null, details: unknown, error: string | null, sessionId: string | null, batchId: string | null, node: string | null } | null }> } };

export type JobQueryVariables = Exact<{
  id: string | number;
}>;


export type JobQuery = { job: { id: string, name: string, taskType: string, dbType: string | null, params: unknown, schedule: string, triggerType: JobTriggerType, trigger: string, cronExpression: string | null, intervalSeconds: number | null, timezone: string, description: string | null, isBuiltin: boolean, isPaused: boolean, isEnabled: boolean, status: JobStatus, nextRunTime: string | null, running: boolean, createdBy: string | null, createdAt: string, updatedAt: string, lastRun: { id: string, jobId: string, taskType: string, trigger: JobRunTrigger, triggeredBy: string | null, status: JobRunStatus, scheduledFor: string | null, startedAt: string, finishedAt: string | null, durationMs: number | null, result: string | null, details: unknown, error: string | null, sessionId: string | null, batchId: string | null, node: string | null } | null } };

export type JobRunsQueryVariables = Exact<{
  jobId: string | number;
  page?: number | null | undefined;
  perPage?: number | null | undefined;
  status?: JobRunStatus | null | undefined;
  trigger?: JobRunTrigger | null | undefined;
}>;


export type JobRunsQuery = { jobRuns: { totalCount: number, pageInfo: { page: number, perPage: number, pages: number }, nodes: Array<{ id: string, jobId: string, taskType: string, trigger: JobRunTrigger, triggeredBy: string | null, status: JobRunStatus, scheduledFor: string | null, startedAt: string, finishedAt: string | null, durationMs: number | null, result: string | null, details: unknown, error: string | null, sessionId: string | null, batchId: string | null, node: string | null }> } };

export type TaskTypesQueryVariables = Exact<{ [key: string]: never; }>;


export type TaskTypesQuery = { taskTypes: Array<{ name: string, label: string, description: string, params: unknown, usesDbType: boolean }> };

export type CreateJobMutationVariables = Exact<{
  input: CreateJobInput;
}>;


export type CreateJobMutation = { createJob: { id: string, name: string, taskType: string, dbType: string | null, params: unknown, schedule: string, triggerType: JobTriggerType, trigger: string, cronExpression: string | null, intervalSeconds: number | null, timezone: string, description: string | null, isBuiltin: boolean, isPaused: boolean, isEnabled: boolean, status: JobStatus, nextRunTime: string | null, running: boolean, createdBy: string | null, createdAt: string, updatedAt: string, lastRun: { id: string, jobId: string, taskType: string, trigger: JobRunTrigger, triggeredBy: string | null, status: JobRunStatus, scheduledFor: string | null, startedAt: string, finishedAt: string | null, durationMs: number | null, result: string | null, details: unknown, error: string | null, sessionId: string | null, batchId: string | null, node: string | null } | null } };

export type UpdateJobMutationVariables = Exact<{
  id: string | number;
  input: UpdateJobInput;
}>;


export type UpdateJobMutation = { updateJob: { id: string, name: string, taskType: string, dbType: string | null, params: unknown, schedule: string, triggerType: JobTriggerType, trigger: string, cronExpression: string | null, intervalSeconds: number | null, timezone: string, description: string | null, isBuiltin: boolean, isPaused: boolean, isEnabled: boolean, status: JobStatus, nextRunTime: string | null, running: boolean, createdBy: string | null, createdAt: string, updatedAt: string, lastRun: { id: string, jobId: string, taskType: string, trigger: JobRunTrigger, triggeredBy: string | null, status: JobRunStatus, scheduledFor: string | null, startedAt: string, finishedAt: string | null, durationMs: number | null, result: string | null, details: unknown, error: string | null, sessionId: string | null, batchId: string | null, node: string | null } | null } };

export type DeleteJobMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteJobMutation = { deleteJob: string };

export type EnableJobMutationVariables = Exact<{
  id: string | number;
}>;


export type EnableJobMutation = { enableJob: { id: string, name: string, taskType: string, dbType: string | null, params: unknown, schedule: string, triggerType: JobTriggerType, trigger: string, cronExpression: string | null, intervalSeconds: number | null, timezone: string, description: string | null, isBuiltin: boolean, isPaused: boolean, isEnabled: boolean, status: JobStatus, nextRunTime: string | null, running: boolean, createdBy: string | null, createdAt: string, updatedAt: string, lastRun: { id: string, jobId: string, taskType: string, trigger: JobRunTrigger, triggeredBy: string | null, status: JobRunStatus, scheduledFor: string | null, startedAt: string, finishedAt: string | null, durationMs: number | null, result: string | null, details: unknown, error: string | null, sessionId: string | null, batchId: string | null, node: string | null } | null } };

export type DisableJobMutationVariables = Exact<{
  id: string | number;
}>;


export type DisableJobMutation = { disableJob: { id: string, name: string, taskType: string, dbType: string | null, params: unknown, schedule: string, triggerType: JobTriggerType, trigger: string, cronExpression: string | null, intervalSeconds: number | null, timezone: string, description: string | null, isBuiltin: boolean, isPaused: boolean, isEnabled: boolean, status: JobStatus, nextRunTime: string | null, running: boolean, createdBy: string | null, createdAt: string, updatedAt: string, lastRun: { id: string, jobId: string, taskType: string, trigger: JobRunTrigger, triggeredBy: string | null, status: JobRunStatus, scheduledFor: string | null, startedAt: string, finishedAt: string | null, durationMs: number | null, result: string | null, details: unknown, error: string | null, sessionId: string | null, batchId: string | null, node: string | null } | null } };

export type PauseJobMutationVariables = Exact<{
  id: string | number;
}>;


export type PauseJobMutation = { pauseJob: { id: string, name: string, taskType: string, dbType: string | null, params: unknown, schedule: string, triggerType: JobTriggerType, trigger: string, cronExpression: string | null, intervalSeconds: number | null, timezone: string, description: string | null, isBuiltin: boolean, isPaused: boolean, isEnabled: boolean, status: JobStatus, nextRunTime: string | null, running: boolean, createdBy: string | null, createdAt: string, updatedAt: string, lastRun: { id: string, jobId: string, taskType: string, trigger: JobRunTrigger, triggeredBy: string | null, status: JobRunStatus, scheduledFor: string | null, startedAt: string, finishedAt: string | null, durationMs: number | null, result: string | null, details: unknown, error: string | null, sessionId: string | null, batchId: string | null, node: string | null } | null } };

export type ResumeJobMutationVariables = Exact<{
  id: string | number;
}>;


export type ResumeJobMutation = { resumeJob: { id: string, name: string, taskType: string, dbType: string | null, params: unknown, schedule: string, triggerType: JobTriggerType, trigger: string, cronExpression: string | null, intervalSeconds: number | null, timezone: string, description: string | null, isBuiltin: boolean, isPaused: boolean, isEnabled: boolean, status: JobStatus, nextRunTime: string | null, running: boolean, createdBy: string | null, createdAt: string, updatedAt: string, lastRun: { id: string, jobId: string, taskType: string, trigger: JobRunTrigger, triggeredBy: string | null, status: JobRunStatus, scheduledFor: string | null, startedAt: string, finishedAt: string | null, durationMs: number | null, result: string | null, details: unknown, error: string | null, sessionId: string | null, batchId: string | null, node: string | null } | null } };

export type RunJobMutationVariables = Exact<{
  id: string | number;
}>;


export type RunJobMutation = { runJob: { id: string, jobId: string, taskType: string, trigger: JobRunTrigger, triggeredBy: string | null, status: JobRunStatus, scheduledFor: string | null, startedAt: string, finishedAt: string | null, durationMs: number | null, result: string | null, details: unknown, error: string | null, sessionId: string | null, batchId: string | null, node: string | null } };

export type UsersPageQueryVariables = Exact<{
  page?: number | null | undefined;
  perPage?: number | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
  search?: string | null | undefined;
  role?: UserRole | null | undefined;
  status?: UserStatus | null | undefined;
  sort?: string | null | undefined;
  order?: SortOrder | null | undefined;
}>;


export type UsersPageQuery = { users: { totalCount: number, edges: Array<{ cursor: string, node: { id: string, username: string, role: UserRole, email: string | null, isActive: boolean, lastLogin: string | null, createdAt: string } }>, pageInfo: { hasNextPage: boolean, hasPreviousPage: boolean, startCursor: string | null, endCursor: string | null, page: number, perPage: number, pages: number } } };

export type UserStatsQueryVariables = Exact<{ [key: string]: never; }>;


export type UserStatsQuery = { userStats: { total: number, active: number, inactive: number, admin: number, user: number, viewer: number } };

export type CreateUserMutationVariables = Exact<{
  input: CreateUserInput;
}>;


export type CreateUserMutation = { createUser: { id: string, username: string, role: UserRole, isActive: boolean, email: string | null } };

export type UpdateUserMutationVariables = Exact<{
  id: string | number;
  input: UpdateUserInput;
}>;


export type UpdateUserMutation = { updateUser: { id: string, username: string, role: UserRole, isActive: boolean } };

export type DeleteUserMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteUserMutation = { deleteUser: string };

export type ToggleUserStatusMutationVariables = Exact<{
  id: string | number;
}>;


export type ToggleUserStatusMutation = { toggleUserStatus: { id: string, isActive: boolean } };
