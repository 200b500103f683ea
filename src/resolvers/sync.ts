/** Account sync operations: start (one instance / all), cancel, sessions, statistics. */
import { z } from 'zod';
import { operation } from './operation.js';
import { DB_TYPES } from '../adapters/types.js';
import { checkDateRange, listQuerySchema } from '../lib/pagination.js';
import { idSchema } from '../lib/schemas.js';
import * as sync from '../services/sync/sync-service.js';

const dbType = z.enum(DB_TYPES, { errorMap: () => ({ message: `数据库类型必须是 ${DB_TYPES.join(', ')} 之一` }) });
const sessionId = z.string({ required_error: '缺少会话ID' }).trim().uuid('会话ID格式无效');

export const syncInstanceAccountsOp = operation({
  name: 'syncInstanceAccounts',
  requires: 'update',
  input: z.object({ instanceId: idSchema }),
  run: (ctx, { instanceId }) => sync.startSync(ctx.deps, { scope: { instanceIds: [instanceId] }, syncType: 'manual_single', createdBy: ctx.user!.id }),
});

export const syncAllAccountsOp = operation({
  name: 'syncAllAccounts',
  requires: 'update',
  input: z.object({
    dbType: dbType.nullish().transform((v) => v ?? undefined),
    instanceIds: z.array(idSchema).min(1).max(1000).nullish().transform((v) => v ?? undefined),
  }),
  run: (ctx, scope) => sync.startSync(ctx.deps, { scope, syncType: 'manual_batch', createdBy: ctx.user!.id }),
});

export const cancelSyncSessionOp = operation({
  name: 'cancelSyncSession',
  requires: 'update', // upstream needs only view; cancelling someone's work is a change ([FIX] SPEC §4.7)
  input: z.object({ id: sessionId }),
  run: (ctx, { id }) => sync.cancelSession(ctx.deps, id, ctx.user!.id),
});

export const syncSessionOp = operation({
  name: 'syncSession',
  requires: 'view',
  input: z.object({ id: sessionId }),
  run: (ctx, { id }) => sync.getSession(ctx.deps, id),
});

export const sessionErrorLogsOp = operation({
  name: 'syncSessionErrors',
  requires: 'view',
  input: z.object({ id: sessionId }),
  run: async (ctx, { id }) => {
    const session = await sync.getSession(ctx.deps, id);
    const errorRecords = session.records.filter((r) => r.status === 'failed');
    return { session, errorRecords, errorCount: errorRecords.length };
  },
});

const status = z.enum(['running', 'completed', 'failed', 'cancelled'], { errorMap: () => ({ message: '状态必须是 running、completed、failed 或 cancelled' }) });
const syncType = z.enum(['manual_single', 'manual_batch', 'manual_task', 'scheduled_task'], { errorMap: () => ({ message: '无效的同步类型' }) });
const syncCategory = z.enum(['account', 'capacity', 'config', 'other'], { errorMap: () => ({ message: '无效的同步分类' }) });

export const syncSessionsOp = operation({
  name: 'syncSessions',
  requires: 'view',
  input: listQuerySchema({
    sortFields: { created_at: 'createdAt', createdAt: 'createdAt', started_at: 'startedAt', startedAt: 'startedAt', status: 'status' },
    defaultSort: 'createdAt',
  })
    .extend({
      status: status.nullish().transform((v) => v ?? undefined),
      syncType: syncType.nullish().transform((v) => v ?? undefined),
      syncCategory: syncCategory.nullish().transform((v) => v ?? undefined),
      /** upstream's `limit`: an alias of per_page */
      limit: z.coerce.number().int().min(1).max(100).optional(),
    })
    .superRefine(checkDateRange),
  run: (ctx, q) => sync.listSessions(ctx.deps, { ...q, perPage: q.limit ?? q.perPage }),
});

export const syncStatisticsOp = operation({
  name: 'syncStatistics',
  requires: 'view',
  input: z.object({}),
  run: (ctx) => sync.syncStatistics(ctx.deps),
});
