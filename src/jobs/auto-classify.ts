/**
 * auto_classify: run automatic classification (all accounts, or one db_type / instance) through the
 * classification service, the same code path as POST /account-classification/auto-classify. The
 * batch is linked to the run as soon as it exists.
 */
import { z } from 'zod';
import { DB_TYPES } from '../adapters/types.js';
import { autoClassify } from '../services/classification/auto-classify.js';
import { defineTaskType } from './types.js';

export const autoClassifyParams = z
  .object({
    db_type: z.enum(DB_TYPES, { errorMap: () => ({ message: `db_type 必须是 ${DB_TYPES.join(', ')} 之一` }) }).optional(),
    instance_id: z.number({ invalid_type_error: 'instance_id 必须是整数' }).int().positive().optional(),
  })
  .strict();

export type AutoClassifyParams = z.infer<typeof autoClassifyParams>;

export const autoClassifyTask = defineTaskType<AutoClassifyParams>({
  name: 'auto_classify',
  label: '自动分类账户',
  description: '按分类规则重新分类账户 (可限定数据库类型或实例)；手动分配保持不变',
  params: autoClassifyParams,
  paramDocs: { db_type: '只分类该数据库类型的账户 (可选)', instance_id: '只分类该实例的账户 (可选)' },
  usesDbType: true,
  async run(ctx, params) {
    const r = await autoClassify(
      ctx.deps,
      { dbType: params.db_type, instanceId: params.instance_id },
      ctx.trigger === 'scheduled' ? 'scheduled' : 'manual',
      ctx.actor,
      { onStart: (batchId) => ctx.link({ batchId }) },
    );
    return {
      message: `自动分类完成：${r.totalAccounts} 个账户，${r.matchedAccounts} 个匹配，新增 ${r.added}，移除 ${r.removed}`,
      details: { batch_id: r.batchId, total_accounts: r.totalAccounts, matched_accounts: r.matchedAccounts, added: r.added, removed: r.removed, rule_errors: r.errors.length },
    };
  },
});
