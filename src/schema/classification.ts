/**
 * Account classification over GraphQL: classifications and rules, previews, auto-classify batches
 * with their matches, manual assignments, and Account.classifications (batched per request).
 */
import DataLoader from 'dataloader';
import { builder, scopesFor } from './builder.js';
import { connectionType, pagingArgs } from './common.js';
import { AccountRef } from './account.js';
import { execute } from '../resolvers/operation.js';
import * as ops from '../resolvers/classification.js';
import type { Ctx } from '../context.js';
import type { RuleReason } from '../services/classification/explain.js';
import {
  classificationReasonsOf,
  classificationsOfAccounts,
  type ClassificationReasonRow,
  type AssignmentRow,
  type BatchRow,
  type ClassificationRow,
  type MatchRow,
  type MatchedAccount,
  type RuleRow,
} from '../services/classification/classification-service.js';

const clean = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));

export const ClassificationRef = builder.objectRef<ClassificationRow>('Classification').implement({
  description: 'A named risk bucket accounts are sorted into by rules or by hand',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    riskLevel: t.exposeString('riskLevel', { description: 'low, medium, high or critical' }),
    color: t.exposeString('color', { nullable: true }),
    iconName: t.exposeString('iconName', { nullable: true }),
    priority: t.exposeInt('priority'),
    isSystem: t.exposeBoolean('isSystem'),
    isActive: t.exposeBoolean('isActive'),
    rulesCount: t.int({ resolve: (c) => c._count.rules }),
    assignmentsCount: t.int({ resolve: (c) => c._count.assignments }),
    rules: t.field({
      type: [RuleRef],
      authScopes: scopesFor(ops.rulesOp.requires),
      resolve: (c, _a, ctx) => execute(ops.rulesOp, ctx, { classificationId: c.id }),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const RuleRef = builder.objectRef<RuleRow>('ClassificationRule').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    ruleName: t.exposeString('ruleName'),
    classificationId: t.exposeID('classificationId'),
    classificationName: t.string({ resolve: (r) => r.classification.name }),
    dbType: t.exposeString('dbType'),
    ruleExpression: t.expose('ruleExpression', { type: 'JSON' }),
    isActive: t.exposeBoolean('isActive'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const MatchedAccountRef = builder.objectRef<MatchedAccount>('MatchedAccount').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    instanceId: t.exposeID('instanceId'),
    instanceName: t.exposeString('instanceName'),
    dbType: t.exposeString('dbType'),
    username: t.exposeString('username'),
    host: t.exposeString('host', { nullable: true }),
    isSuperuser: t.exposeBoolean('isSuperuser'),
    isLocked: t.exposeBoolean('isLocked'),
  }),
});

const MatchRef = builder.objectRef<MatchRow>('ClassificationMatch').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    accountId: t.exposeID('accountId'),
    accountName: t.string({ resolve: (m) => m.account.username }),
    instanceId: t.id({ resolve: (m) => m.account.instance.id }),
    instanceName: t.string({ resolve: (m) => m.account.instance.name }),
    dbType: t.string({ resolve: (m) => m.account.instance.dbType }),
    classificationId: t.exposeID('classificationId'),
    classificationName: t.string({ resolve: (m) => m.classification.name }),
    ruleId: t.exposeID('ruleId', { nullable: true }),
    ruleName: t.string({ nullable: true, resolve: (m) => m.rule?.ruleName ?? null }),
    matchedAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const MatchConnection = connectionType('ClassificationMatch', MatchRef);
const MatchedAccountConnection = connectionType('MatchedAccount', MatchedAccountRef);

const BatchRef = builder.objectRef<BatchRow>('ClassificationBatch').implement({
  description: 'One run of automatic classification',
  fields: (t) => ({
    id: t.exposeID('id'),
    batchId: t.exposeString('batchId'),
    batchType: t.exposeString('batchType', { description: 'manual, scheduled, api or after_sync' }),
    status: t.exposeString('status'),
    scope: t.expose('scope', { type: 'JSON', nullable: true }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    totalAccounts: t.exposeInt('totalAccounts'),
    matchedAccounts: t.exposeInt('matchedAccounts'),
    totalRules: t.exposeInt('totalRules'),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    details: t.expose('batchDetails', { type: 'JSON', nullable: true }),
    createdBy: t.exposeID('createdBy', { nullable: true }),
    matches: t.field({
      type: MatchConnection,
      args: { ...pagingArgs(t.arg), classificationId: t.arg.id(), instanceId: t.arg.id(), dbType: t.arg.string() },
      resolve: (b, a, ctx) => execute(ops.batchMatchesOp, ctx, { ...clean(a), batchId: b.batchId }),
    }),
  }),
});
const BatchConnection = connectionType('ClassificationBatch', BatchRef);

const AssignmentRef = builder.objectRef<AssignmentRow | Awaited<ReturnType<typeof classificationsOfAccounts>>[number][number]>('ClassificationAssignment').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    accountId: t.exposeID('accountId'),
    classificationId: t.exposeID('classificationId'),
    classificationName: t.string({ resolve: (a) => a.classification.name }),
    riskLevel: t.string({ resolve: (a) => a.classification.riskLevel }),
    assignmentType: t.exposeString('assignmentType', { description: 'auto or manual' }),
    assignedBy: t.exposeID('assignedBy', { nullable: true }),
    batchId: t.exposeString('batchId', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});
const AssignmentConnection = connectionType('ClassificationAssignment', AssignmentRef);

/** One query per request for all the accounts whose classifications are asked for. */
const loaders = new WeakMap<Ctx, DataLoader<number, Awaited<ReturnType<typeof classificationsOfAccounts>>[number]>>();
function classificationLoader(ctx: Ctx) {
  let l = loaders.get(ctx);
  if (!l) loaders.set(ctx, (l = new DataLoader((ids: readonly number[]) => classificationsOfAccounts(ctx.deps, ids))));
  return l;
}

const ClassificationSummaryRef = builder.objectRef<ClassificationReasonRow['classification']>('ClassificationSummary').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    riskLevel: t.exposeString('riskLevel', { description: 'low, medium, high or critical' }),
    color: t.exposeString('color', { nullable: true }),
  }),
});

const ReasonRuleRef = builder.objectRef<NonNullable<ClassificationReasonRow['rule']>>('ClassificationReasonRule').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    dbType: t.exposeString('dbType'),
    expression: t.expose('expression', { type: 'JSON', description: 'the rule expression as saved' }),
  }),
});

const AssignerRef = builder.objectRef<NonNullable<ClassificationReasonRow['assignedBy']>>('ClassificationAssigner').implement({
  fields: (t) => ({ id: t.exposeID('id'), username: t.exposeString('username') }),
});

const RuleReasonRef = builder.objectRef<RuleReason>('RuleReason').implement({
  description: 'One condition of a rule and what the account concretely has for it',
  fields: (t) => ({
    field: t.exposeString('field', { description: 'e.g. global_privileges, role_attributes, password_changed_at' }),
    op: t.exposeString('op'),
    expected: t.field({ type: 'JSON', nullable: true, description: 'what the rule asks for (a date condition: days)', resolve: (r) => r.expected ?? null }),
    actual: t.field({ type: 'JSON', nullable: true, description: 'the asked-for names the account holds, or its value (dates: ISO, null when unknown)', resolve: (r) => r.actual ?? null }),
    holds: t.exposeBoolean('holds', { description: "the condition's own verdict" }),
    negated: t.exposeBoolean('negated', { description: 'under NOT: the reason is that the condition does not hold' }),
    text: t.exposeString('text', { description: 'e.g. "global_privileges has SUPER: has SUPER"' }),
  }),
});

const ClassificationReasonRef = builder.objectRef<ClassificationReasonRow>('ClassificationReason').implement({
  description: 'Why an account holds a classification: the rule and concrete privileges/attributes (auto), or who assigned it (manual)',
  fields: (t) => ({
    assignmentId: t.exposeID('assignmentId'),
    classification: t.field({ type: ClassificationSummaryRef, resolve: (r) => r.classification }),
    assignmentType: t.exposeString('assignmentType', { description: 'auto or manual' }),
    assignedAt: t.expose('assignedAt', { type: 'DateTime' }),
    assignedBy: t.field({ type: AssignerRef, nullable: true, description: 'manual assignments: who assigned it', resolve: (r) => r.assignedBy }),
    notes: t.exposeString('notes', { nullable: true }),
    batchId: t.exposeString('batchId', { nullable: true, description: 'auto assignments: the batch that made it' }),
    rule: t.field({ type: ReasonRuleRef, nullable: true, description: 'auto assignments: the rule that matched', resolve: (r) => r.rule }),
    matchesNow: t.exposeBoolean('matchesNow', { nullable: true, description: 'auto assignments: whether the rule still matches the account as stored now' }),
    reasons: t.field({ type: [RuleReasonRef], description: 'the conditions that made the rule match (empty for manual assignments)', resolve: (r) => r.reasons }),
    note: t.exposeString('note', { nullable: true, description: 'what could not be explained (rule deleted, no longer matching, …)' }),
  }),
});

/** One batch of queries per request for all the accounts whose classification reasons are asked for. */
const reasonLoaders = new WeakMap<Ctx, DataLoader<number, ClassificationReasonRow[]>>();
function reasonLoader(ctx: Ctx) {
  let l = reasonLoaders.get(ctx);
  if (!l) reasonLoaders.set(ctx, (l = new DataLoader((ids: readonly number[]) => classificationReasonsOf(ctx.deps, ids))));
  return l;
}

builder.objectField(AccountRef, 'classificationReasons', (t) =>
  t.field({
    type: [ClassificationReasonRef],
    description: 'For each active classification of the account: the rule and the concrete privileges or attributes that made it match, or who assigned it by hand',
    authScopes: scopesFor(ops.accountClassificationReasonsOp.requires),
    resolve: (a, _args, ctx) => reasonLoader(ctx).load(a.id),
  }),
);

builder.objectField(AccountRef, 'classifications', (t) =>
  t.field({
    type: [AssignmentRef],
    description: 'Active classifications of the account (auto and manual)',
    authScopes: scopesFor('view'),
    resolve: (a, _args, ctx) => classificationLoader(ctx).load(a.id),
  }),
);

builder.queryFields((t) => ({
  classifications: t.field({
    type: [ClassificationRef],
    authScopes: scopesFor(ops.classificationsOp.requires),
    args: { includeInactive: t.arg.boolean() },
    resolve: (_r, a, ctx) => execute(ops.classificationsOp, ctx, clean(a)),
  }),
  classification: t.field({ type: ClassificationRef, authScopes: scopesFor(ops.classificationOp.requires), args: { id: t.arg.id({ required: true }) }, resolve: (_r, a, ctx) => execute(ops.classificationOp, ctx, a) }),
  classificationRules: t.field({
    type: [RuleRef],
    authScopes: scopesFor(ops.rulesOp.requires),
    args: { classificationId: t.arg.id(), dbType: t.arg.string(), includeInactive: t.arg.boolean() },
    resolve: (_r, a, ctx) => execute(ops.rulesOp, ctx, clean(a)),
  }),
  previewRule: t.field({
    type: MatchedAccountConnection,
    description: 'Accounts an expression would match now, without writing anything',
    authScopes: scopesFor(ops.previewRuleOp.requires),
    args: { ...pagingArgs(t.arg), dbType: t.arg.string({ required: true }), ruleExpression: t.arg({ type: 'JSON', required: true }), instanceId: t.arg.id() },
    resolve: (_r, a, ctx) => execute(ops.previewRuleOp, ctx, clean(a)),
  }),
  classificationBatches: t.field({
    type: BatchConnection,
    authScopes: scopesFor(ops.batchesOp.requires),
    args: { ...pagingArgs(t.arg), batchType: t.arg.string(), status: t.arg.string() },
    resolve: (_r, a, ctx) => execute(ops.batchesOp, ctx, clean(a)),
  }),
  classificationBatch: t.field({
    type: BatchRef,
    authScopes: scopesFor(ops.batchOp.requires),
    args: { id: t.arg.string({ required: true, description: 'the batch UUID' }) },
    resolve: (_r, a, ctx) => execute(ops.batchOp, ctx, { batchId: a.id }),
  }),
  classificationAssignments: t.field({
    type: AssignmentConnection,
    authScopes: scopesFor(ops.assignmentsOp.requires),
    args: { ...pagingArgs(t.arg), accountId: t.arg.id(), classificationId: t.arg.id(), instanceId: t.arg.id(), assignmentType: t.arg.string() },
    resolve: (_r, a, ctx) => execute(ops.assignmentsOp, ctx, clean(a)),
  }),
  classificationPermissions: t.field({
    type: 'JSON',
    description: 'Fields and known names rules may use for a database type',
    authScopes: scopesFor(ops.permissionsOp.requires),
    args: { dbType: t.arg.string({ required: true }) },
    resolve: (_r, a, ctx) => execute(ops.permissionsOp, ctx, a),
  }),
}));

const ClassificationInput = builder.inputType('ClassificationInput', {
  fields: (t) => ({
    name: t.string(),
    description: t.string(),
    riskLevel: t.string(),
    color: t.string(),
    iconName: t.string(),
    priority: t.int(),
    isActive: t.boolean(),
  }),
});

const DeleteResult = builder.objectRef<{ deletedRules: number; deletedAssignments: number }>('ClassificationDeleteResult').implement({
  fields: (t) => ({ deletedRules: t.exposeInt('deletedRules'), deletedAssignments: t.exposeInt('deletedAssignments') }),
});

builder.mutationFields((t) => ({
  createClassification: t.field({
    type: ClassificationRef,
    authScopes: scopesFor(ops.createClassificationOp.requires),
    args: { input: t.arg({ type: ClassificationInput, required: true }) },
    resolve: (_r, a, ctx) => execute(ops.createClassificationOp, ctx, clean(a.input)),
  }),
  updateClassification: t.field({
    type: ClassificationRef,
    authScopes: scopesFor(ops.updateClassificationOp.requires),
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: ClassificationInput, required: true }) },
    resolve: (_r, a, ctx) => execute(ops.updateClassificationOp, ctx, { ...clean(a.input), id: a.id }),
  }),
  deleteClassification: t.field({
    type: DeleteResult,
    description: 'A classification with rules or assignments needs cascade: true; system ones are never deleted',
    authScopes: scopesFor(ops.deleteClassificationOp.requires),
    args: { id: t.arg.id({ required: true }), cascade: t.arg.boolean() },
    resolve: (_r, a, ctx) => execute(ops.deleteClassificationOp, ctx, clean(a)),
  }),
  createClassificationRule: t.field({
    type: RuleRef,
    authScopes: scopesFor(ops.createRuleOp.requires),
    args: {
      classificationId: t.arg.id({ required: true }),
      dbType: t.arg.string({ required: true }),
      ruleName: t.arg.string({ required: true }),
      ruleExpression: t.arg({ type: 'JSON', required: true }),
      isActive: t.arg.boolean(),
    },
    resolve: (_r, a, ctx) => execute(ops.createRuleOp, ctx, clean(a)),
  }),
  updateClassificationRule: t.field({
    type: RuleRef,
    authScopes: scopesFor(ops.updateRuleOp.requires),
    args: { id: t.arg.id({ required: true }), dbType: t.arg.string(), ruleName: t.arg.string(), ruleExpression: t.arg({ type: 'JSON' }), isActive: t.arg.boolean() },
    resolve: (_r, a, ctx) => execute(ops.updateRuleOp, ctx, clean(a)),
  }),
  deleteClassificationRule: t.field({
    type: 'Boolean',
    authScopes: scopesFor(ops.deleteRuleOp.requires),
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, a, ctx) => (await execute(ops.deleteRuleOp, ctx, a), true),
  }),
  autoClassify: t.field({
    type: BatchRef,
    description: 'Classifies all accounts, one instance, or one database type; returns the completed batch',
    authScopes: scopesFor(ops.autoClassifyOp.requires),
    args: { instanceId: t.arg.id(), dbType: t.arg.string() },
    resolve: (_r, a, ctx) => execute(ops.autoClassifyOp, ctx, { ...clean(a), batchType: 'api' }),
  }),
  assignClassification: t.field({
    type: AssignmentRef,
    description: 'Assigns a classification to an account by hand (kept by auto-classify)',
    authScopes: scopesFor(ops.assignOp.requires),
    args: { accountId: t.arg.id({ required: true }), classificationId: t.arg.id({ required: true }), notes: t.arg.string() },
    resolve: async (_r, a, ctx) => (await execute(ops.assignOp, ctx, clean(a))).assignment,
  }),
  removeClassificationAssignment: t.field({
    type: 'Boolean',
    authScopes: scopesFor(ops.removeAssignmentOp.requires),
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, a, ctx) => (await execute(ops.removeAssignmentOp, ctx, a), true),
  }),
}));
