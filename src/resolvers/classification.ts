/** Account classification operations (SPEC §3.7, §4.5): one per action, shared by GraphQL and REST. */
import { z } from 'zod';
import { operation } from './operation.js';
import { DB_TYPES } from '../adapters/types.js';
import { listQuerySchema } from '../lib/pagination.js';
import { idSchema, looseBoolean } from '../lib/schemas.js';
import * as cls from '../services/classification/classification-service.js';
import { autoClassify } from '../services/classification/auto-classify.js';
import { getAccount } from '../services/accounts/account-service.js';

const opt = <T extends z.ZodTypeAny>(s: T) => s.nullish().transform((v) => v ?? undefined);
const dbType = z.enum(DB_TYPES, { errorMap: () => ({ message: `数据库类型必须是 ${DB_TYPES.join(', ')} 之一` }) });
const riskLevel = z.enum(['low', 'medium', 'high', 'critical'], { errorMap: () => ({ message: '风险等级必须是 low、medium、high 或 critical' }) });
const color = z.string().regex(/^#[0-9a-fA-F]{3,8}$/, '颜色必须是 #RRGGBB 形式');
const batchId = z.string({ required_error: '缺少批次ID' }).trim().uuid('批次ID格式无效');
const page = listQuerySchema({ sortFields: { id: 'id' }, defaultSort: 'id' }).pick({ page: true, perPage: true, first: true, after: true });

const classificationFields = {
  name: z.string({ required_error: '分类名称不能为空' }).trim().min(1, '分类名称不能为空').max(100, '分类名称最多 100 个字符'),
  description: opt(z.string().max(2000)),
  riskLevel: opt(riskLevel),
  color: opt(color),
  iconName: opt(z.string().regex(/^[\w-]{1,50}$/, '图标名称无效')),
  priority: opt(z.coerce.number().int().min(-1000).max(1000)),
  isActive: opt(looseBoolean),
};

export const classificationsOp = operation({
  name: 'classifications',
  requires: 'view',
  input: z.object({ includeInactive: opt(looseBoolean) }),
  run: (ctx, q) => cls.listClassifications(ctx.deps, q),
});
export const classificationOp = operation({ name: 'classification', requires: 'view', input: z.object({ id: idSchema }), run: (ctx, { id }) => cls.getClassification(ctx.deps, id) });
export const createClassificationOp = operation({
  name: 'createClassification',
  requires: 'create',
  input: z.object(classificationFields).strict(),
  run: (ctx, input) => cls.createClassification(ctx.deps, input, ctx.user),
});
export const updateClassificationOp = operation({
  name: 'updateClassification',
  requires: 'update',
  input: z.object({ id: idSchema, ...classificationFields, name: opt(classificationFields.name) }).strict(),
  run: (ctx, { id, ...input }) => cls.updateClassification(ctx.deps, id, input, ctx.user),
});
export const deleteClassificationOp = operation({
  name: 'deleteClassification',
  requires: 'delete',
  input: z.object({ id: idSchema, cascade: opt(looseBoolean) }),
  run: (ctx, { id, cascade }) => cls.deleteClassification(ctx.deps, id, cascade ?? false, ctx.user),
});

const ruleFields = {
  classificationId: idSchema,
  dbType,
  ruleName: z.string({ required_error: '规则名称不能为空' }).trim().min(1, '规则名称不能为空').max(100, '规则名称最多 100 个字符'),
  ruleExpression: z.union([z.record(z.unknown()), z.string().max(20_000)], { errorMap: () => ({ message: 'rule_expression 应为 JSON 对象' }) }),
  isActive: opt(looseBoolean),
};

export const rulesOp = operation({
  name: 'classificationRules',
  requires: 'view',
  input: z.object({ classificationId: opt(idSchema), dbType: opt(dbType), includeInactive: opt(looseBoolean) }),
  run: (ctx, f) => cls.listRules(ctx.deps, f),
});
export const ruleOp = operation({ name: 'classificationRule', requires: 'view', input: z.object({ id: idSchema }), run: (ctx, { id }) => cls.getRule(ctx.deps, id) });
export const createRuleOp = operation({
  name: 'createClassificationRule',
  requires: 'create',
  input: z.object(ruleFields).strict(),
  run: (ctx, input) => cls.createRule(ctx.deps, input, ctx.user),
});
export const updateRuleOp = operation({
  name: 'updateClassificationRule',
  requires: 'update',
  input: z.object({ id: idSchema, dbType: opt(dbType), ruleName: opt(ruleFields.ruleName), ruleExpression: opt(ruleFields.ruleExpression), isActive: opt(looseBoolean) }).strict(),
  run: (ctx, { id, ...input }) => cls.updateRule(ctx.deps, id, input, ctx.user),
});
export const deleteRuleOp = operation({ name: 'deleteClassificationRule', requires: 'delete', input: z.object({ id: idSchema }), run: (ctx, { id }) => cls.deleteRule(ctx.deps, id, ctx.user) });

export const previewRuleOp = operation({
  name: 'previewRule',
  requires: 'view',
  input: page.extend({ dbType, ruleExpression: ruleFields.ruleExpression, instanceId: opt(idSchema) }),
  run: (ctx, { dbType: t, ruleExpression, ...q }) => cls.previewRule(ctx.deps, t, ruleExpression, q),
});
export const ruleMatchesOp = operation({
  name: 'ruleMatchedAccounts',
  requires: 'view',
  input: page.extend({ id: idSchema, instanceId: opt(idSchema) }),
  run: async (ctx, { id, ...q }) => {
    const rule = await cls.getRule(ctx.deps, id);
    return cls.previewRule(ctx.deps, rule.dbType as (typeof DB_TYPES)[number], rule.ruleExpression, q);
  },
});

export const autoClassifyOp = operation({
  name: 'autoClassify',
  requires: 'update',
  input: z.object({
    instanceId: opt(idSchema),
    dbType: opt(dbType),
    batchType: opt(z.enum(['manual', 'scheduled', 'api'], { errorMap: () => ({ message: 'batch_type 必须是 manual、scheduled 或 api' }) })),
  }),
  run: async (ctx, { instanceId, dbType: t, batchType }) => {
    const r = await autoClassify(ctx.deps, { instanceId, dbType: t }, batchType ?? 'manual', ctx.user);
    return cls.getBatch(ctx.deps, r.batchId);
  },
});

export const assignOp = operation({
  name: 'assignClassification',
  requires: 'update',
  input: z.object({ accountId: idSchema, classificationId: idSchema, notes: opt(z.string().max(2000)) }),
  run: (ctx, { accountId, classificationId, notes }) => cls.assignClassification(ctx.deps, accountId, classificationId, ctx.user, notes),
});
export const removeAssignmentOp = operation({ name: 'removeClassificationAssignment', requires: 'delete', input: z.object({ id: idSchema }), run: (ctx, { id }) => cls.removeAssignment(ctx.deps, id, ctx.user) });
export const assignmentsOp = operation({
  name: 'classificationAssignments',
  requires: 'view',
  input: page.extend({
    accountId: opt(idSchema),
    classificationId: opt(idSchema),
    instanceId: opt(idSchema),
    assignmentType: opt(z.enum(['auto', 'manual'], { errorMap: () => ({ message: 'assignment_type 必须是 auto 或 manual' }) })),
  }),
  run: (ctx, q) => cls.listAssignments(ctx.deps, q),
});

export const batchesOp = operation({
  name: 'classificationBatches',
  requires: 'view',
  input: page.extend({
    batchType: opt(z.enum(['manual', 'scheduled', 'api', 'after_sync'], { errorMap: () => ({ message: '无效的批次类型' }) })),
    status: opt(z.enum(['running', 'completed', 'failed'], { errorMap: () => ({ message: '状态必须是 running、completed 或 failed' }) })),
  }),
  run: (ctx, q) => cls.listBatches(ctx.deps, q),
});
export const batchOp = operation({ name: 'classificationBatch', requires: 'view', input: z.object({ batchId }), run: (ctx, { batchId: id }) => cls.getBatch(ctx.deps, id) });
export const batchMatchesOp = operation({
  name: 'classificationBatchMatches',
  requires: 'view',
  input: page.extend({ batchId, classificationId: opt(idSchema), instanceId: opt(idSchema), dbType: opt(dbType) }),
  run: (ctx, { batchId: id, ...q }) => cls.batchMatches(ctx.deps, id, q),
});

export const permissionsOp = operation({ name: 'classificationPermissions', requires: 'view', input: z.object({ dbType }), run: (ctx, { dbType: t }) => cls.permissionsOf(ctx.deps, t) });

export const accountClassificationReasonsOp = operation({
  name: 'accountClassificationReasons',
  requires: 'view',
  input: z.object({ id: idSchema }),
  run: async (ctx, { id }) => {
    await getAccount(ctx.deps, id); // 404 for an unknown account
    return (await cls.classificationReasonsOf(ctx.deps, [id]))[0]!;
  },
});
