/** Unified log operations (SPEC §3.10, §4.8): search, detail, modules, statistics, recent, errors, cleanup. */
import { z } from 'zod';
import { operation } from './operation.js';
import { checkDateRange, listQuerySchema } from '../lib/pagination.js';
import { idSchema } from '../lib/schemas.js';
import * as logs from '../services/logs/log-service.js';
import { openLogStream } from '../services/logs/log-stream-service.js';

const optional = <T extends z.ZodTypeAny>(s: T) => s.nullish().transform((v) => v ?? undefined);
const level = z.preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), z.enum(logs.LOG_LEVELS, { errorMap: () => ({ message: 'Invalid log level (DEBUG, INFO, WARNING, ERROR, CRITICAL)' }) }));
const int = (min: number, max: number, def: number) => z.coerce.number({ invalid_type_error: '必须是整数' }).int('必须是整数').min(min).max(max).default(def);
/** A log entry id to continue after: 0 or a stored id (an int4 column; larger numbers are refused, not sent to PostgreSQL). */
const logId = z.coerce.number({ invalid_type_error: 'ID 必须是整数' }).int('ID 必须是整数').min(0, 'ID 不能为负数').max(2_147_483_647, 'ID 超出范围');
/** Any date JavaScript can hold is not one PostgreSQL can (it stops at 4713 BC): keep to years 1–9999. */
const since = z.coerce
  .date({ invalid_type_error: 'since 必须是日期' })
  .min(new Date('0001-01-01T00:00:00Z'), 'since 超出范围')
  .max(new Date('9999-12-31T23:59:59.999Z'), 'since 超出范围');
/** start_time/end_time (upstream) are aliases of start_date/end_date (API document). */
const aliasTimes = (v: unknown) => {
  if (!v || typeof v !== 'object') return v;
  const o = { ...(v as Record<string, unknown>) };
  o.startDate ??= o.startTime;
  o.endDate ??= o.endTime;
  o.search ??= o.q;
  delete o.startTime;
  delete o.endTime;
  delete o.q;
  return o;
};

/** start/end dates and keyword with the shared validation, without paging. */
const rangeFields = listQuerySchema({ sortFields: { timestamp: 'timestamp' }, defaultSort: 'timestamp' }).pick({ startDate: true, endDate: true, search: true });

const filterFields = {
  level: optional(level),
  module: optional(z.string().max(100)),
  userId: optional(idSchema),
  instanceId: optional(idSchema),
  requestId: optional(z.string().max(64)),
};

export const searchLogsOp = operation({
  name: 'logs',
  requires: 'view',
  input: z.preprocess(
    aliasTimes,
    listQuerySchema({ sortFields: { timestamp: 'timestamp', level: 'level', module: 'module', id: 'id' }, defaultSort: 'timestamp' })
      .extend({ ...filterFields, sortBy: z.string().optional(), sortOrder: z.string().optional() })
      .superRefine(checkDateRange),
  ),
  run: (ctx, q) => logs.searchLogs(ctx.deps, q),
});

export const getLogOp = operation({ name: 'log', requires: 'view', input: z.object({ id: idSchema }), run: (ctx, { id }) => logs.getLog(ctx.deps, id) });
export const logModulesOp = operation({ name: 'logModules', requires: 'view', input: z.object({}), run: (ctx) => logs.logModules(ctx.deps) });

export const logStatisticsOp = operation({
  name: 'logStatistics',
  requires: 'view',
  input: z.preprocess(
    aliasTimes,
    rangeFields
      .omit({ search: true })
      .extend({ hours: optional(z.coerce.number().int().min(1).max(24 * 366)), bucket: optional(z.enum(['hour', 'day'])) })
      .superRefine(checkDateRange),
  ),
  run: (ctx, q) => logs.logStatistics(ctx.deps, q),
});

export const recentLogsOp = operation({
  name: 'recentLogs',
  requires: 'view',
  input: z.object({ afterId: optional(logId), since: optional(since), level: optional(level), limit: int(1, 100, 20) }),
  run: (ctx, q) => logs.recentLogs(ctx.deps, q),
});

export const recentErrorsOp = operation({
  name: 'recentErrors',
  requires: 'view',
  input: z.object({ hours: int(1, 24 * 366, 24), limit: int(1, 100, 50) }),
  run: (ctx, q) => logs.recentErrors(ctx.deps, q.hours, q.limit),
});

export const cleanupLogsOp = operation({
  name: 'cleanupLogs',
  requires: 'admin',
  input: z.object({ days: z.coerce.number({ invalid_type_error: 'days 必须是整数' }).int('days 必须是整数').min(1, 'days 至少为 1').max(3650).default(90) }),
  run: (ctx, { days }) => logs.cleanupLogs(ctx.deps, days, ctx.user),
});

export const exportLogsOp = operation({
  name: 'exportLogs',
  requires: 'view',
  input: z.preprocess(
    aliasTimes,
    rangeFields
      .extend({ ...filterFields, format: z.enum(['csv', 'json'], { errorMap: () => ({ message: 'Unsupported export format (csv or json)' }) }).default('csv'), limit: int(1, 1_000_000, 1000) })
      .superRefine(checkDateRange),
  ),
  run: async (ctx, q) =>
    q.format === 'csv'
      ? { format: 'csv' as const, csv: await logs.exportLogsCsv(ctx.deps, q, q.limit) }
      : { format: 'json' as const, batches: logs.exportLogBatches(ctx.deps, q, q.limit) },
});

/** Live entries matching the filter; with afterId, first the entries after it from the database. */
export const logStreamOp = operation({
  name: 'logStream',
  requires: 'view',
  input: z.object({
    level: optional(level),
    minLevel: optional(level),
    module: optional(z.string().max(100)),
    search: optional(z.string().max(200)),
    afterId: optional(logId),
  }),
  run: async (ctx, { afterId, ...filter }) => openLogStream(ctx.deps, filter, afterId),
});
