/** Sync sessions: start, cancel, inspect, and watch live. */
import { builder, scopesFor } from './builder.js';
import { connectionType, pagingArgs } from './common.js';
import { execute } from '../resolvers/operation.js';
import * as ops from '../resolvers/sync.js';
import { getSession, progressPercentage, type SessionWithRecords, type SyncRecord } from '../services/sync/sync-service.js';
import { subscribeNow, type SyncProgressEvent } from '../realtime/pubsub.js';
import { idSchema } from '../lib/schemas.js';
import { parseInput } from '../lib/validation.js';
import { z } from 'zod';

type Stats = Awaited<ReturnType<typeof ops.syncStatisticsOp.run>>;

export const SyncInstanceRecordRef = builder.objectRef<SyncRecord>('SyncInstanceRecord').implement({
  description: 'One instance inside a sync session',
  fields: (t) => ({
    id: t.exposeID('id'),
    instanceId: t.exposeID('instanceId'),
    instanceName: t.exposeString('instanceName', { nullable: true }),
    status: t.exposeString('status', { description: 'pending, running, completed, failed or cancelled' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    accountsFound: t.exposeInt('accountsSynced'),
    added: t.exposeInt('accountsCreated'),
    modified: t.exposeInt('accountsUpdated'),
    removed: t.exposeInt('accountsDeleted'),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    node: t.exposeString('node', { nullable: true, description: 'the gateway process (host:pid:tag) that ran this instance' }),
    durationSeconds: t.float({
      nullable: true,
      resolve: (r) => (r.startedAt && r.completedAt ? (r.completedAt.getTime() - r.startedAt.getTime()) / 1000 : null),
    }),
  }),
});

export const SyncSessionRef = builder.objectRef<SessionWithRecords>('SyncSession').implement({
  description: 'One run of account synchronisation over one or more instances',
  fields: (t) => ({
    id: t.exposeID('sessionId', { description: 'the session UUID (same as REST session_id)' }),
    sessionId: t.exposeString('sessionId'),
    syncType: t.exposeString('syncType'),
    syncCategory: t.exposeString('syncCategory'),
    status: t.exposeString('status', { description: 'running, completed, failed or cancelled' }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    settledAt: t.expose('settledAt', {
      type: 'DateTime',
      nullable: true,
      description: 'when every record had ended (a cancelled session settles once its running instances finish)',
    }),
    totalInstances: t.exposeInt('totalInstances'),
    successfulInstances: t.exposeInt('successfulInstances'),
    failedInstances: t.exposeInt('failedInstances'),
    progressPercentage: t.float({ resolve: (s) => progressPercentage(s) }),
    createdBy: t.exposeID('createdBy', { nullable: true }),
    records: t.field({ type: [SyncInstanceRecordRef], resolve: (s) => s.records }),
  }),
});

const SyncSessionConnection = connectionType('SyncSession', SyncSessionRef);

const SyncCategoryCounts = builder.objectRef<Stats['byCategory']>('SyncCategoryCounts').implement({
  fields: (t) => ({ account: t.exposeInt('account'), capacity: t.exposeInt('capacity'), config: t.exposeInt('config'), other: t.exposeInt('other') }),
});

const SyncStatistics = builder.objectRef<Stats>('SyncStatistics').implement({
  fields: (t) => ({
    totalSessions: t.exposeInt('totalSessions'),
    runningSessions: t.exposeInt('runningSessions'),
    completedSessions: t.exposeInt('completedSessions'),
    failedSessions: t.exposeInt('failedSessions'),
    cancelledSessions: t.exposeInt('cancelledSessions'),
    scheduledSessions: t.exposeInt('scheduledSessions'),
    manualSessions: t.exposeInt('manualSessions'),
    byCategory: t.field({ type: SyncCategoryCounts, resolve: (s) => s.byCategory }),
  }),
});

const SyncSessionProgress = builder.objectRef<SyncProgressEvent>('SyncSessionProgress').implement({
  description: 'A state change of a sync session; `instance*` fields are set when one instance moved',
  fields: (t) => ({
    sessionId: t.exposeString('sessionId'),
    status: t.exposeString('status'),
    totalInstances: t.exposeInt('totalInstances'),
    successfulInstances: t.exposeInt('successfulInstances'),
    failedInstances: t.exposeInt('failedInstances'),
    progressPercentage: t.float({ resolve: (e) => progressPercentage(e) }),
    instanceId: t.exposeID('instanceId', { nullable: true }),
    instanceName: t.exposeString('instanceName', { nullable: true }),
    instanceStatus: t.exposeString('instanceStatus', { nullable: true }),
    message: t.exposeString('message', { nullable: true }),
  }),
});

builder.queryFields((t) => ({
  syncSession: t.field({
    type: SyncSessionRef,
    authScopes: scopesFor(ops.syncSessionOp.requires),
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => execute(ops.syncSessionOp, ctx, { id: String(args.id) }),
  }),
  syncSessions: t.field({
    type: SyncSessionConnection,
    authScopes: scopesFor(ops.syncSessionsOp.requires),
    args: {
      ...pagingArgs(t.arg),
      status: t.arg.string(),
      syncType: t.arg.string(),
      syncCategory: t.arg.string(),
      startDate: t.arg.string(),
      endDate: t.arg.string(),
    },
    resolve: (_r, args, ctx) => execute(ops.syncSessionsOp, ctx, args),
  }),
  syncStatistics: t.field({
    type: SyncStatistics,
    authScopes: scopesFor(ops.syncStatisticsOp.requires),
    resolve: (_r, _a, ctx) => execute(ops.syncStatisticsOp, ctx, {}),
  }),
}));

builder.mutationFields((t) => ({
  syncInstanceAccounts: t.field({
    type: SyncSessionRef,
    description: 'Starts syncing one instance; returns the running session (watch it with syncSessionProgress)',
    authScopes: scopesFor(ops.syncInstanceAccountsOp.requires),
    args: { instanceId: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => execute(ops.syncInstanceAccountsOp, ctx, args),
  }),
  syncAllAccounts: t.field({
    type: SyncSessionRef,
    description: 'Starts syncing all active instances, or those of one db type, or the given ids',
    authScopes: scopesFor(ops.syncAllAccountsOp.requires),
    args: { dbType: t.arg.string(), instanceIds: t.arg.idList() },
    resolve: (_r, args, ctx) => execute(ops.syncAllAccountsOp, ctx, args),
  }),
  cancelSyncSession: t.field({
    type: SyncSessionRef,
    description: 'Cancels a running session: instances not yet started are skipped',
    authScopes: scopesFor(ops.cancelSyncSessionOp.requires),
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => execute(ops.cancelSyncSessionOp, ctx, { id: String(args.id) }),
  }),
}));

const progressArgs = z.object({ sessionId: z.string().uuid('会话ID格式无效') });
void idSchema;

builder.subscriptionFields((t) => ({
  syncSessionProgress: t.field({
    type: SyncSessionProgress,
    description: 'The current state first, then every change until the session ends',
    authScopes: scopesFor('view'),
    args: { sessionId: t.arg.id({ required: true }) },
    subscribe: (_r, args, ctx) => {
      const { sessionId } = parseInput(progressArgs, { sessionId: String(args.sessionId) });
      // Subscribe before reading the current state, so nothing between the two is missed.
      const live = subscribeNow(ctx.deps.pubsub, 'sync.progress', sessionId);
      return (async function* () {
        try {
          const s = await getSession(ctx.deps, sessionId);
          const snapshot: SyncProgressEvent = {
            sessionId,
            status: s.status,
            totalInstances: s.totalInstances,
            successfulInstances: s.successfulInstances,
            failedInstances: s.failedInstances,
          };
          yield snapshot;
          if (s.status !== 'running') return;
          for await (const e of live) {
            yield e;
            if (e.status !== 'running' && !e.instanceId) return;
          }
        } finally {
          await live.return?.();
        }
      })();
    },
    resolve: (e) => e,
  }),
}));
