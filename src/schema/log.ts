/** Live unified log stream (the searchable log API arrives with the unified-log issue). */
import { builder, scopesFor } from './builder.js';
import type { LogEvent } from '../realtime/pubsub.js';
import { z } from 'zod';
import { parseInput } from '../lib/validation.js';
import { connectionType, pagingArgs } from './common.js';
import { execute } from '../resolvers/operation.js';
import * as ops from '../resolvers/logs.js';
import type { LogRow, LogStatistics } from '../services/logs/log-service.js';

export const LogLevelEnum = builder.enumType('LogLevel', { values: ['INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const });

const LEVEL_RANK: Record<string, number> = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3, CRITICAL: 4 };

export const LogEntry = builder.objectRef<LogEvent>('LogEntry').implement({
  description: 'One unified log event',
  fields: (t) => ({
    id: t.exposeInt('id'),
    timestamp: t.exposeString('timestamp'),
    level: t.exposeString('level'),
    module: t.exposeString('module'),
    message: t.exposeString('message'),
    context: t.expose('context', { type: 'JSON', nullable: true }),
  }),
});

const filterInput = z.object({
  minLevel: z.enum(['INFO', 'WARNING', 'ERROR', 'CRITICAL']).nullish(),
  module: z.string().max(100).nullish(),
});

builder.subscriptionFields((t) => ({
  logCreated: t.field({
    type: LogEntry,
    description: 'Every new unified log event at or above minLevel, optionally of one module',
    authScopes: scopesFor('view'),
    args: { minLevel: t.arg({ type: LogLevelEnum }), module: t.arg.string() },
    subscribe: (_root, args, ctx) => {
      const f = parseInput(filterInput, args);
      const min = LEVEL_RANK[f.minLevel ?? 'INFO']!;
      const source = ctx.deps.pubsub.subscribe('log.created');
      return (async function* () {
        for await (const e of source) {
          if ((LEVEL_RANK[e.level] ?? 0) >= min && (!f.module || e.module === f.module)) yield e;
        }
      })();
    },
    resolve: (e) => e,
  }),
}));


const LogRecord = builder.objectRef<LogRow>('LogRecord').implement({
  description: 'A stored unified log entry',
  fields: (t) => ({
    id: t.exposeID('id'),
    timestamp: t.expose('timestamp', { type: 'DateTime' }),
    level: t.exposeString('level'),
    module: t.exposeString('module'),
    message: t.exposeString('message'),
    traceback: t.exposeString('traceback', { nullable: true }),
    context: t.expose('context', { type: 'JSON', nullable: true }),
    userId: t.exposeID('userId', { nullable: true }),
    requestId: t.exposeString('requestId', { nullable: true }),
    instanceId: t.exposeID('instanceId', { nullable: true }),
  }),
});

const LogBucket = builder.objectRef<LogStatistics['buckets'][number]>('LogBucket').implement({
  fields: (t) => ({ start: t.exposeString('start'), total: t.exposeInt('total'), errors: t.exposeInt('errors'), warnings: t.exposeInt('warnings') }),
});
const ModuleCount = builder.objectRef<{ module: string; count: number }>('ModuleCount').implement({
  fields: (t) => ({ module: t.exposeString('module'), count: t.exposeInt('count') }),
});
const LogStatisticsRef = builder.objectRef<LogStatistics>('LogStatistics').implement({
  fields: (t) => ({
    totalLogs: t.exposeInt('totalLogs'),
    byLevel: t.expose('byLevel', { type: 'JSON' }),
    errorCount: t.exposeInt('errorCount'),
    warningCount: t.exposeInt('warningCount'),
    errorRate: t.exposeFloat('errorRate'),
    topModules: t.field({ type: [ModuleCount], resolve: (s) => s.topModules }),
    bucket: t.exposeString('bucket'),
    series: t.field({ type: [LogBucket], resolve: (s) => s.buckets }),
  }),
});
const CleanupResult = builder.objectRef<{ deletedCount: number; cutoff: Date }>('CleanupResult').implement({
  fields: (t) => ({ deletedCount: t.exposeInt('deletedCount'), cutoff: t.expose('cutoff', { type: 'DateTime' }) }),
});

const LogConnection = connectionType('LogRecord', LogRecord);
const clean = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));

builder.queryFields((t) => ({
  logs: t.field({
    type: LogConnection,
    description: 'Search the unified log (default window: the last 24 hours)',
    authScopes: scopesFor(ops.searchLogsOp.requires),
    args: {
      ...pagingArgs(t.arg),
      level: t.arg.string(),
      module: t.arg.string(),
      search: t.arg.string({ description: 'keyword in the message (trigram index)' }),
      userId: t.arg.id(),
      instanceId: t.arg.id(),
      requestId: t.arg.string(),
      startDate: t.arg.string(),
      endDate: t.arg.string(),
      sort: t.arg.string(),
      order: t.arg.string(),
    },
    resolve: (_r, a, ctx) => execute(ops.searchLogsOp, ctx, clean(a)),
  }),
  log: t.field({ type: LogRecord, authScopes: scopesFor(ops.getLogOp.requires), args: { id: t.arg.id({ required: true }) }, resolve: (_r, a, ctx) => execute(ops.getLogOp, ctx, a) }),
  logModules: t.field({ type: [ModuleCount], authScopes: scopesFor(ops.logModulesOp.requires), resolve: (_r, _a, ctx) => execute(ops.logModulesOp, ctx, {}) }),
  logStatistics: t.field({
    type: LogStatisticsRef,
    authScopes: scopesFor(ops.logStatisticsOp.requires),
    args: { startDate: t.arg.string(), endDate: t.arg.string(), hours: t.arg.int(), bucket: t.arg.string() },
    resolve: (_r, a, ctx) => execute(ops.logStatisticsOp, ctx, clean(a)),
  }),
}));

builder.mutationFields((t) => ({
  cleanupLogs: t.field({
    type: CleanupResult,
    description: 'Deletes log entries older than `days` (≥ 1). Admin only; the cleanup is itself logged.',
    authScopes: scopesFor(ops.cleanupLogsOp.requires),
    args: { days: t.arg.int({ required: true }) },
    resolve: (_r, a, ctx) => execute(ops.cleanupLogsOp, ctx, a),
  }),
}));
