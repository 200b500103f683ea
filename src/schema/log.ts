/** Unified log: search, statistics, cleanup, and the live stream (logStream) over graphql-ws. */
import { builder, scopesFor } from './builder.js';
import type { LogEvent } from '../realtime/pubsub.js';
import { connectionType, pagingArgs } from './common.js';
import { execute } from '../resolvers/operation.js';
import * as ops from '../resolvers/logs.js';
import type { LogRow, LogStatistics } from '../services/logs/log-service.js';
import type { LogStreamEvent } from '../services/logs/log-stream-service.js';

export const LogLevelEnum = builder.enumType('LogLevel', { values: ['INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const });


export const LogEntry = builder.objectRef<LogEvent>('LogEntry').implement({
  description: 'One unified log event',
  fields: (t) => ({
    id: t.exposeInt('id'),
    timestamp: t.exposeString('timestamp'),
    level: t.exposeString('level'),
    module: t.exposeString('module'),
    message: t.exposeString('message'),
    context: t.expose('context', { type: 'JSON', nullable: true }),
    userId: t.exposeInt('userId', { nullable: true }),
    instanceId: t.exposeInt('instanceId', { nullable: true }),
    requestId: t.exposeString('requestId', { nullable: true }),
    createdAt: t.exposeString('createdAt', { description: 'when the entry was stored (timestamp is when it was logged)' }),
  }),
});

const LogStreamEventRef = builder.objectRef<LogStreamEvent>('LogStreamEvent').implement({
  description: 'One entry of the live log stream',
  fields: (t) => ({
    entry: t.field({ type: LogEntry, resolve: (e) => e.entry }),
    dropped: t.exposeInt('dropped', {
      description:
        'Matching entries this subscriber did not receive just before this one: its buffer overflowed (the oldest ' +
        'queued entries are dropped) or more were missed than a reconnect replays. Fetch them with logs(...) by id.',
    }),
    replayed: t.exposeBoolean('replayed', { description: 'Read from the database: missed before this subscription (afterId)' }),
  }),
});


builder.subscriptionFields((t) => ({
  logCreated: t.field({
    type: LogEntry,
    description: 'Every new unified log event at or above minLevel, optionally of one module (module contains, as in logs)',
    authScopes: scopesFor('view'),
    args: { minLevel: t.arg({ type: LogLevelEnum }), module: t.arg.string() },
    // Kept for clients of the first release: logStream without replay or drop notices.
    subscribe: (_root, args, ctx) => execute(ops.logStreamOp, ctx, clean({ minLevel: args.minLevel, module: args.module })),
    resolve: (e) => e.entry,
  }),
  logStream: t.field({
    type: LogStreamEventRef,
    description:
      'New unified log entries matching the filters (same semantics as logs(...)). With afterId, first the matching ' +
      'entries written after it (a reconnecting client passes the last id it saw). A slow client gets at most ' +
      'LOG_STREAM_BUFFER queued entries; older ones are dropped and reported in `dropped`.',
    authScopes: scopesFor(ops.logStreamOp.requires),
    args: {
      level: t.arg({ type: LogLevelEnum, description: 'exactly this level' }),
      minLevel: t.arg({ type: LogLevelEnum, description: 'this level or more severe' }),
      module: t.arg.string(),
      search: t.arg.string({ description: 'keyword in the message' }),
      afterId: t.arg.int({ description: 'replay matching entries with a greater id first' }),
    },
    subscribe: (_root, args, ctx) => execute(ops.logStreamOp, ctx, clean(args)),
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
  fields: (t) => ({ start: t.exposeString('start'), total: t.exposeInt('total'), errors: t.exposeInt('errors'), warnings: t.exposeInt('warnings'), byLevel: t.expose('byLevel', { type: 'JSON' }) }),
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
