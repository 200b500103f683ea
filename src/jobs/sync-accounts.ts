/**
 * sync_accounts: synchronise the accounts of all active instances, or of one db type, or of listed
 * instances, as one sync session (`scheduled_task` for fires, `manual_task` for run-now; SPEC §3.4).
 * The run is linked to the session as soon as it exists and finishes when the session does.
 */
import { z } from 'zod';
import { DB_TYPES } from '../adapters/types.js';
import { ValidationError } from '../lib/errors.js';
import { getSession, startSync, waitForSession } from '../services/sync/sync-service.js';
import { defineTaskType } from './types.js';

const NO_ACTIVE_INSTANCES = '没有找到活跃的数据库实例';

export const syncAccountsParams = z
  .object({
    db_type: z.enum(DB_TYPES, { errorMap: () => ({ message: `db_type 必须是 ${DB_TYPES.join(', ')} 之一` }) }).optional(),
    instance_ids: z
      .array(z.number({ invalid_type_error: 'instance_ids 必须是正整数数组' }).int('instance_ids 必须是正整数数组').positive('instance_ids 必须是正整数数组'), {
        invalid_type_error: 'instance_ids 必须是正整数数组',
      })
      .min(1, 'instance_ids 不能为空数组')
      .max(1000, 'instance_ids 最多 1000 个')
      .transform((ids) => [...new Set(ids)])
      .optional(),
  })
  .strict();

export type SyncAccountsParams = z.infer<typeof syncAccountsParams>;

export const syncAccountsTask = defineTaskType<SyncAccountsParams>({
  name: 'sync_accounts',
  label: '账户同步',
  description: '同步活跃实例的账户与权限 (全部实例，或按 db_type，或按 instance_ids)，每次运行创建一个同步会话',
  params: syncAccountsParams,
  paramDocs: {
    db_type: `可选，只同步该类型的实例: ${DB_TYPES.join(', ')}`,
    instance_ids: '可选，只同步这些实例 (正整数数组)',
  },
  usesDbType: true,
  async run(ctx, params) {
    let session;
    try {
      session = await startSync(ctx.deps, {
        scope: { dbType: params.db_type, instanceIds: params.instance_ids },
        syncType: ctx.trigger === 'manual' ? 'manual_task' : 'scheduled_task',
        createdBy: ctx.actor?.id ?? null,
      });
    } catch (err) {
      // Nothing to sync is a normal outcome for a schedule (upstream returns it as the job result).
      if (err instanceof ValidationError && err.message === NO_ACTIVE_INSTANCES) {
        return { message: NO_ACTIVE_INSTANCES, details: { total_instances: 0 } };
      }
      throw err;
    }
    await ctx.link({ sessionId: session.sessionId });
    await waitForSession(ctx.deps, session.sessionId, ctx.signal);
    const done = await getSession(ctx.deps, session.sessionId);
    const accounts = done.records.reduce((n, r) => n + (r.accountsSynced ?? 0), 0);
    const details = {
      session_id: done.sessionId,
      session_status: done.status,
      total_instances: done.totalInstances,
      successful_instances: done.successfulInstances,
      failed_instances: done.failedInstances,
      accounts_synced: accounts,
    };
    const label = ctx.trigger === 'manual' ? '手动任务' : '定时任务';
    if (done.status === 'cancelled') return { message: `${label}同步已取消`, details, failed: true };
    // This gateway stopped before the session ended: the other replicas finish it.
    if (done.status === 'running') return { message: `${label}同步会话仍在进行 (由其他实例继续)`, details };
    return {
      message: `${label}同步完成，成功 ${done.successfulInstances} 个实例，失败 ${done.failedInstances} 个实例，总共同步 ${accounts} 个账户`,
      details,
      failed: done.status !== 'completed',
    };
  },
});
