/**
 * Classifications, their rules, manual assignments, batches and matches (SPEC §2.7–2.10, §3.7).
 * Every change to a classification or rule is written to the unified log (module
 * account_classification) with who made it.
 */
import type { AppDeps } from '../../deps.js';
import type { AuthUser } from '../../auth/permissions.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { DB_TYPES, type DbType } from '../../adapters/types.js';
import { BusinessRuleError, ConflictError, ResourceNotFoundError, ValidationError } from '../../lib/errors.js';
import { pageOf, windowOf, type Page } from '../../lib/pagination.js';
import { CATALOGUE, permissionConfigRows } from './catalogue.js';
import { explainRule, type RuleReason } from './explain.js';
import { columnsFor, compileRule, factsOf, normalizeRule, STALE_DAYS } from './rule-expression.js';

const MODULE = 'account_classification';

export interface ClassificationInput {
  name: string;
  description?: string | null;
  riskLevel?: 'low' | 'medium' | 'high' | 'critical';
  color?: string | null;
  iconName?: string | null;
  priority?: number;
  isActive?: boolean;
}

const withCounts = {
  _count: { select: { rules: { where: { isActive: true } }, assignments: { where: { isActive: true } } } },
} satisfies Prisma.AccountClassificationInclude;
export type ClassificationRow = Prisma.AccountClassificationGetPayload<{ include: typeof withCounts }>;

export async function listClassifications(deps: AppDeps, opts: { includeInactive?: boolean } = {}): Promise<ClassificationRow[]> {
  return deps.prisma.accountClassification.findMany({
    where: opts.includeInactive ? {} : { isActive: true },
    include: withCounts,
    orderBy: [{ priority: 'desc' }, { createdAt: 'desc' }],
    take: 500,
  });
}

export async function getClassification(deps: AppDeps, id: number): Promise<ClassificationRow> {
  const c = await deps.prisma.accountClassification.findUnique({ where: { id }, include: withCounts });
  if (!c) throw new ResourceNotFoundError('分类不存在', { id });
  return c;
}

export async function createClassification(deps: AppDeps, input: ClassificationInput, actor: AuthUser | null): Promise<ClassificationRow> {
  const c = await deps.prisma.accountClassification.create({ data: { ...input, isSystem: false }, include: withCounts });
  deps.logger.info({ module: MODULE, event: 'classification_created', classification_id: c.id, name: c.name, actor_id: actor?.id ?? null }, `创建分类: ${c.name}`);
  return c;
}

export async function updateClassification(deps: AppDeps, id: number, input: Partial<ClassificationInput>, actor: AuthUser | null): Promise<ClassificationRow> {
  await getClassification(deps, id);
  const c = await deps.prisma.accountClassification.update({ where: { id }, data: input, include: withCounts });
  deps.logger.info({ module: MODULE, event: 'classification_updated', classification_id: id, changes: Object.keys(input), actor_id: actor?.id ?? null }, `更新分类: ${c.name}`);
  return c;
}

/**
 * Deletes a user-defined classification. One with rules or active assignments is only deleted when
 * `cascade` is set (they go with it); a system classification never is.
 */
export async function deleteClassification(deps: AppDeps, id: number, cascade: boolean, actor: AuthUser | null): Promise<{ deletedRules: number; deletedAssignments: number }> {
  const c = await getClassification(deps, id);
  if (c.isSystem) throw new BusinessRuleError('系统分类不能删除', { id });
  const [rules, assignments] = await Promise.all([
    deps.prisma.classificationRule.count({ where: { classificationId: id } }),
    deps.prisma.accountClassificationAssignment.count({ where: { classificationId: id, isActive: true } }),
  ]);
  if ((rules || assignments) && !cascade) {
    throw new BusinessRuleError(`分类下还有 ${rules} 条规则和 ${assignments} 个账户分配；确认删除请带 cascade=true`, { rules, assignments });
  }
  await deps.prisma.accountClassification.delete({ where: { id } });
  deps.logger.info({ module: MODULE, event: 'classification_deleted', classification_id: id, name: c.name, deleted_rules: rules, deleted_assignments: assignments, actor_id: actor?.id ?? null }, `删除分类: ${c.name}`);
  return { deletedRules: rules, deletedAssignments: assignments };
}

// ---- rules -------------------------------------------------------------------------------------

export interface RuleInput {
  classificationId: number;
  dbType: DbType;
  ruleName: string;
  ruleExpression: unknown;
  isActive?: boolean;
}

const ruleInclude = { classification: { select: { id: true, name: true } } } satisfies Prisma.ClassificationRuleInclude;
export type RuleRow = Prisma.ClassificationRuleGetPayload<{ include: typeof ruleInclude }>;

export async function listRules(deps: AppDeps, f: { classificationId?: number; dbType?: string; includeInactive?: boolean }): Promise<RuleRow[]> {
  return deps.prisma.classificationRule.findMany({
    where: { ...(f.includeInactive ? {} : { isActive: true }), ...(f.classificationId ? { classificationId: f.classificationId } : {}), ...(f.dbType ? { dbType: f.dbType } : {}) },
    include: ruleInclude,
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: 1000,
  });
}

export async function getRule(deps: AppDeps, id: number): Promise<RuleRow> {
  const r = await deps.prisma.classificationRule.findUnique({ where: { id }, include: ruleInclude });
  if (!r) throw new ResourceNotFoundError('规则不存在', { id });
  return r;
}

export async function createRule(deps: AppDeps, input: RuleInput, actor: AuthUser | null): Promise<RuleRow> {
  normalizeRule(input.dbType, input.ruleExpression); // throws a ValidationError naming the bad part
  await getClassification(deps, input.classificationId).catch(() => {
    throw new ValidationError('分类不存在', { errors: [{ field: 'classification_id', message: '分类不存在' }] });
  });
  const r = await deps.prisma.classificationRule.create({ data: { ...input, ruleExpression: input.ruleExpression as Prisma.InputJsonValue }, include: ruleInclude });
  deps.logger.info({ module: MODULE, event: 'rule_created', rule_id: r.id, classification_id: r.classificationId, db_type: r.dbType, rule_name: r.ruleName, actor_id: actor?.id ?? null }, `创建分类规则: ${r.ruleName}`);
  return r;
}

export async function updateRule(deps: AppDeps, id: number, input: Partial<Omit<RuleInput, 'classificationId'>>, actor: AuthUser | null): Promise<RuleRow> {
  const current = await getRule(deps, id);
  const dbType = (input.dbType ?? current.dbType) as DbType;
  if (input.ruleExpression !== undefined || input.dbType) normalizeRule(dbType, input.ruleExpression ?? current.ruleExpression);
  const { ruleExpression, ...rest } = input;
  const r = await deps.prisma.classificationRule.update({
    where: { id },
    data: { ...rest, ...(ruleExpression !== undefined ? { ruleExpression: ruleExpression as Prisma.InputJsonValue } : {}) },
    include: ruleInclude,
  });
  deps.logger.info({ module: MODULE, event: 'rule_updated', rule_id: id, changes: Object.keys(input), actor_id: actor?.id ?? null }, `更新分类规则: ${r.ruleName}`);
  return r;
}

export async function deleteRule(deps: AppDeps, id: number, actor: AuthUser | null): Promise<void> {
  const r = await getRule(deps, id);
  await deps.prisma.classificationRule.delete({ where: { id } });
  deps.logger.info({ module: MODULE, event: 'rule_deleted', rule_id: id, rule_name: r.ruleName, actor_id: actor?.id ?? null }, `删除分类规则: ${r.ruleName}`);
}

export interface MatchedAccount {
  id: number;
  instanceId: number;
  instanceName: string;
  dbType: string;
  username: string;
  host: string | null;
  isSuperuser: boolean;
  isLocked: boolean;
}

/**
 * The accounts an expression matches (non-deleted accounts of its db type on active instances),
 * paginated, without writing anything. Used for previews and a saved rule's matched accounts.
 */
export async function previewRule(deps: AppDeps, dbType: DbType, expression: unknown, q: { page: number; perPage: number; instanceId?: number }): Promise<Page<MatchedAccount>> {
  const evalOpts = { now: Date.now(), staleDays: deps.config.staleAccountDays };
  const predicate = compileRule(dbType, normalizeRule(dbType, expression), evalOpts);
  const w = windowOf(q);
  const cols = columnsFor(dbType).map((c) => `a.${c}`).join(', ');
  const matches: MatchedAccount[] = [];
  let total = 0;
  let after = 0;
  for (;;) {
    const params: unknown[] = [dbType, after];
    const { rows } = await deps.pool.query<Record<string, unknown> & { id: number; instance_id: number; instance_name: string; host: string | null; username: string; is_superuser: boolean; is_locked: boolean }>(
      `SELECT a.id, a.instance_id, i.name AS instance_name, ${cols}
         FROM current_account_sync_data a JOIN instances i ON i.id = a.instance_id
        WHERE a.db_type = $1 AND NOT a.is_deleted AND i.is_active AND i.deleted_at IS NULL AND a.id > $2
              ${q.instanceId ? `AND a.instance_id = $${params.push(q.instanceId)}` : ''}
        ORDER BY a.id LIMIT 5000`,
      params,
    );
    for (const row of rows) {
      if (!predicate(factsOf(dbType, row, undefined, evalOpts))) continue;
      if (total >= w.offset && matches.length < w.limit) {
        matches.push({ id: row.id, instanceId: row.instance_id, instanceName: row.instance_name, dbType, username: row.username, host: row.host ?? null, isSuperuser: row.is_superuser, isLocked: row.is_locked });
      }
      total++;
    }
    if (rows.length < 5000) break;
    after = rows[rows.length - 1]!.id;
  }
  return pageOf(matches, total, w);
}

// ---- assignments -------------------------------------------------------------------------------

const assignmentInclude = {
  classification: { select: { id: true, name: true, color: true, riskLevel: true } },
  account: { select: { id: true, username: true, instanceId: true, dbType: true } },
} satisfies Prisma.AccountClassificationAssignmentInclude;
export type AssignmentRow = Prisma.AccountClassificationAssignmentGetPayload<{ include: typeof assignmentInclude }>;


export async function assignClassification(deps: AppDeps, accountId: number, classificationId: number, actor: AuthUser | null, notes?: string) {
  const [account, classification] = await Promise.all([
    deps.prisma.currentAccount.findFirst({ where: { id: accountId, isDeleted: false }, select: { id: true, username: true } }),
    deps.prisma.accountClassification.findUnique({ where: { id: classificationId }, select: { id: true, name: true } }),
  ]);
  if (!account) throw new ValidationError('账户不存在', { errors: [{ field: 'account_id', message: '账户不存在' }] });
  if (!classification) throw new ValidationError('分类不存在', { errors: [{ field: 'classification_id', message: '分类不存在' }] });
  const existing = await deps.prisma.accountClassificationAssignment.findFirst({ where: { accountId, classificationId }, orderBy: [{ isActive: 'desc' }, { updatedAt: 'desc' }] });
  if (existing?.isActive) throw new ConflictError('账户已分配该分类', { assignment_id: existing.id });
  const data = { assignmentType: 'manual', assignedBy: actor?.id ?? null, batchId: null, isActive: true, notes: notes ?? null };
  const assignment = existing
    ? await deps.prisma.accountClassificationAssignment.update({ where: { id: existing.id }, data, include: assignmentInclude })
    : await deps.prisma.accountClassificationAssignment.create({ data: { accountId, classificationId, ...data }, include: assignmentInclude });
  deps.logger.info(
    { module: MODULE, event: 'classification_assigned', assignment_id: assignment.id, account_id: accountId, classification_id: classificationId, reactivated: Boolean(existing), actor_id: actor?.id ?? null },
    `手动分配分类: ${account.username} → ${classification.name}`,
  );
  return { assignment, reactivated: Boolean(existing) };
}

export async function removeAssignment(deps: AppDeps, id: number, actor: AuthUser | null): Promise<void> {
  const a = await deps.prisma.accountClassificationAssignment.findUnique({ where: { id } });
  if (!a || !a.isActive) throw new ResourceNotFoundError('分配不存在', { id });
  await deps.prisma.accountClassificationAssignment.update({ where: { id }, data: { isActive: false } });
  deps.logger.info({ module: MODULE, event: 'classification_unassigned', assignment_id: id, account_id: a.accountId, classification_id: a.classificationId, actor_id: actor?.id ?? null }, '移除账户分类');
}

export async function listAssignments(
  deps: AppDeps,
  q: { page: number; perPage: number; accountId?: number; classificationId?: number; instanceId?: number; assignmentType?: string },
): Promise<Page<AssignmentRow>> {
  const where: Prisma.AccountClassificationAssignmentWhereInput = {
    isActive: true,
    ...(q.accountId ? { accountId: q.accountId } : {}),
    ...(q.classificationId ? { classificationId: q.classificationId } : {}),
    ...(q.assignmentType ? { assignmentType: q.assignmentType } : {}),
    ...(q.instanceId ? { account: { instanceId: q.instanceId } } : {}),
  };
  const w = windowOf(q);
  const [items, total] = await Promise.all([
    deps.prisma.accountClassificationAssignment.findMany({ where, include: assignmentInclude, orderBy: { id: 'desc' }, skip: w.offset, take: w.limit }),
    deps.prisma.accountClassificationAssignment.count({ where }),
  ]);
  return pageOf(items, total, w);
}

/** Active classifications of many accounts in one query (Account.classifications, no N+1). */
export async function classificationsOfAccounts(deps: AppDeps, accountIds: readonly number[]) {
  const rows = await deps.prisma.accountClassificationAssignment.findMany({
    where: { accountId: { in: [...accountIds] }, isActive: true, classification: { isActive: true } },
    include: { classification: true },
    orderBy: { classification: { priority: 'desc' } },
  });
  return accountIds.map((id) => rows.filter((r) => r.accountId === id));
}

// ---- explanations ------------------------------------------------------------------------------

export interface ClassificationReasonRow {
  assignmentId: number;
  accountId: number;
  classification: { id: number; name: string; riskLevel: string; color: string | null };
  assignmentType: string;
  assignedAt: Date;
  /** Manual assignments: who assigned it (null when that user was deleted, or for auto ones). */
  assignedBy: { id: number; username: string } | null;
  notes: string | null;
  batchId: string | null;
  /** Auto assignments: the rule that matched (null when it was deleted since). */
  rule: { id: number; name: string; dbType: string; expression: Prisma.JsonValue } | null;
  /** Auto assignments: whether that rule still matches the account as stored now (null for manual ones or a rule that is gone). */
  matchesNow: boolean | null;
  /** Why the rule matches (or, when matchesNow is false, why it no longer does); empty for manual ones. */
  reasons: RuleReason[];
  /** What could not be explained, e.g. a deleted or no longer valid rule. */
  note: string | null;
}

/**
 * Why each account holds each of its active classifications: the rule and the concrete privileges,
 * attributes or dates that made it match (auto), or who assigned it and when (manual). Three
 * queries whatever the number of accounts (assignments, their rules, the accounts' rows), so
 * Account.classificationReasons costs the same for a page of accounts as for one.
 */
export async function classificationReasonsOf(deps: AppDeps, accountIds: readonly number[]): Promise<ClassificationReasonRow[][]> {
  if (accountIds.length === 0) return [];
  const ids = [...accountIds];
  const assignments = await deps.prisma.accountClassificationAssignment.findMany({
    where: { accountId: { in: ids }, isActive: true, classification: { isActive: true } },
    include: { classification: { select: { id: true, name: true, riskLevel: true, color: true, priority: true } }, assigner: { select: { id: true, username: true } } },
    orderBy: [{ classification: { priority: 'desc' } }, { id: 'asc' }],
  });
  const ruleIds = [...new Set(assignments.map((a) => a.ruleId).filter((x): x is number => x !== null))];
  const allColumns = [...new Set(DB_TYPES.flatMap((t) => columnsFor(t)))];
  const [rules, accounts] = await Promise.all([
    ruleIds.length
      ? deps.prisma.classificationRule.findMany({ where: { id: { in: ruleIds } }, select: { id: true, ruleName: true, dbType: true, ruleExpression: true } })
      : Promise.resolve([]),
    assignments.length
      ? deps.pool.query<Record<string, unknown> & { id: number; db_type: string }>(
          `SELECT id, db_type, ${allColumns.join(', ')} FROM current_account_sync_data WHERE id = ANY($1::int[])`,
          [[...new Set(assignments.map((a) => a.accountId))]],
        )
      : Promise.resolve({ rows: [] as Array<Record<string, unknown> & { id: number; db_type: string }> }),
  ]);
  const ruleById = new Map(rules.map((r) => [r.id, r]));
  const rowById = new Map(accounts.rows.map((r) => [r.id, r]));
  const opts = { now: Date.now(), staleDays: deps.config.staleAccountDays };
  const out = new Map<number, ClassificationReasonRow[]>();
  for (const a of assignments) {
    const base: ClassificationReasonRow = {
      assignmentId: a.id,
      accountId: a.accountId,
      classification: { id: a.classification.id, name: a.classification.name, riskLevel: a.classification.riskLevel, color: a.classification.color },
      assignmentType: a.assignmentType,
      assignedAt: a.createdAt,
      assignedBy: a.assignmentType === 'manual' && a.assigner ? { id: a.assigner.id, username: a.assigner.username } : null,
      notes: a.notes,
      batchId: a.batchId,
      rule: null,
      matchesNow: null,
      reasons: [],
      note: null,
    };
    if (a.assignmentType !== 'manual') {
      const rule = a.ruleId !== null ? ruleById.get(a.ruleId) : undefined;
      const row = rowById.get(a.accountId);
      if (!rule) base.note = a.ruleId === null ? '该分配没有记录匹配的规则' : `规则 ${a.ruleId} 已被删除`;
      else {
        base.rule = { id: rule.id, name: rule.ruleName, dbType: rule.dbType, expression: rule.ruleExpression };
        if (row && (DB_TYPES as readonly string[]).includes(rule.dbType) && rule.dbType === row.db_type) {
          try {
            const dbType = rule.dbType as DbType;
            const e = explainRule(dbType, normalizeRule(dbType, rule.ruleExpression), row, opts);
            base.matchesNow = e.matched;
            base.reasons = e.reasons;
            if (!e.matched) base.note = '该规则对账户当前数据已不再匹配 (下次自动分类时移除)';
          } catch (err) {
            base.note = `规则已无法解析: ${(err as Error).message}`;
          }
        } else base.note = '规则与账户的数据库类型不一致';
      }
    }
    (out.get(a.accountId) ?? out.set(a.accountId, []).get(a.accountId)!).push(base);
  }
  return accountIds.map((id) => out.get(id) ?? []);
}

// ---- batches -----------------------------------------------------------------------------------

export type BatchRow = Prisma.ClassificationBatchGetPayload<object>;

export async function listBatches(deps: AppDeps, q: { page: number; perPage: number; first?: number; after?: number; batchType?: string; status?: string }): Promise<Page<BatchRow>> {
  const where: Prisma.ClassificationBatchWhereInput = { ...(q.batchType ? { batchType: q.batchType } : {}), ...(q.status ? { status: q.status } : {}) };
  const w = windowOf(q);
  const [items, total] = await Promise.all([
    deps.prisma.classificationBatch.findMany({ where, orderBy: [{ startedAt: 'desc' }, { id: 'desc' }], skip: w.offset, take: w.limit }),
    deps.prisma.classificationBatch.count({ where }),
  ]);
  return pageOf(items, total, w);
}

export async function getBatch(deps: AppDeps, batchId: string): Promise<BatchRow> {
  const b = await deps.prisma.classificationBatch.findUnique({ where: { batchId } });
  if (!b) throw new ResourceNotFoundError('批次不存在', { batch_id: batchId });
  return b;
}

const matchInclude = {
  account: { select: { id: true, username: true, host: true, dbType: true, instance: { select: { id: true, name: true, host: true, dbType: true } } } },
  classification: { select: { id: true, name: true, color: true, riskLevel: true } },
} satisfies Prisma.AccountClassificationAssignmentInclude;
export type MatchRow = Prisma.AccountClassificationAssignmentGetPayload<{ include: typeof matchInclude }> & {
  rule: { id: number; ruleName: string; ruleExpression: Prisma.JsonValue } | null;
};

/**
 * A batch's matches: the assignments it made that are still active (SPEC §4.5), each with the rule
 * that matched. Paginated, filterable by classification, instance and database type.
 */
export async function batchMatches(
  deps: AppDeps,
  batchId: string,
  q: { page: number; perPage: number; first?: number; after?: number; classificationId?: number; instanceId?: number; dbType?: string },
): Promise<Page<MatchRow>> {
  await getBatch(deps, batchId);
  const where: Prisma.AccountClassificationAssignmentWhereInput = {
    batchId,
    isActive: true,
    ...(q.classificationId ? { classificationId: q.classificationId } : {}),
    ...(q.instanceId || q.dbType ? { account: { ...(q.instanceId ? { instanceId: q.instanceId } : {}), ...(q.dbType ? { dbType: q.dbType } : {}) } } : {}),
  };
  const w = windowOf(q);
  const [items, total] = await Promise.all([
    deps.prisma.accountClassificationAssignment.findMany({ where, include: matchInclude, orderBy: { id: 'asc' }, skip: w.offset, take: w.limit }),
    deps.prisma.accountClassificationAssignment.count({ where }),
  ]);
  const ruleIds = [...new Set(items.map((i) => i.ruleId).filter((x): x is number => x !== null))];
  const rules = new Map(
    (await deps.prisma.classificationRule.findMany({ where: { id: { in: ruleIds } }, select: { id: true, ruleName: true, ruleExpression: true } })).map((r) => [r.id, r]),
  );
  return pageOf(items.map((i) => ({ ...i, rule: (i.ruleId && rules.get(i.ruleId)) || null })), total, w);
}

// ---- catalogue and defaults --------------------------------------------------------------------

export async function permissionsOf(deps: AppDeps, dbType: DbType) {
  const rows = await deps.prisma.permissionConfig.findMany({ where: { dbType, isActive: true }, orderBy: [{ category: 'asc' }, { sortOrder: 'asc' }] });
  const out: Record<string, Array<{ name: string; description: string | null }>> = {};
  for (const r of rows) (out[r.category] ??= []).push({ name: r.permissionName, description: r.description });
  const fields = CATALOGUE[dbType].map((f) => ({ name: f.name, kind: f.kind, description: f.description, open: Boolean(f.open) }));
  return { permissions: out, fields };
}

const WRITE_PRIVILEGES = ['INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'ALTER', 'INDEX', 'CREATE VIEW', 'CREATE ROUTINE', 'ALTER ROUTINE', 'EVENT', 'TRIGGER', 'GRANT OPTION'];

export interface DefaultClassification {
  name: string;
  riskLevel: string;
  color: string;
  priority: number;
  description: string;
  rules: Array<{ dbType: DbType; ruleName: string; expr: unknown }>;
}

const olderThanStale = (field: string) => ({ field, op: 'older_than_days', value: STALE_DAYS });

/**
 * The built-in stale classification (README "Stale accounts"): accounts unused or unchanged for
 * longer than STALE_ACCOUNT_DAYS, from what each engine reports (a date it does not report never
 * matches). New installations get it with the other defaults; existing ones from the migration
 * 20261201104700_stale_classification, which holds the same rules (a test compares them).
 */
export const STALE_CLASSIFICATION: DefaultClassification = {
  name: '陈旧账户',
  riskLevel: 'medium',
  color: '#6c757d',
  priority: 40,
  description: '长期未登录、密码长期未修改或过期已久的账户 (超过 STALE_ACCOUNT_DAYS 天)',
  rules: [
    {
      dbType: 'postgresql',
      ruleName: 'PostgreSQL 密码过期已久',
      // PostgreSQL records no login or password-change time: a login role whose VALID UNTIL passed long ago.
      expr: { operator: 'AND', conditions: [{ field: 'is_active', op: 'is', value: true }, olderThanStale('password_expires_at')] },
    },
    { dbType: 'mysql', ruleName: 'MySQL 密码长期未修改', expr: olderThanStale('password_changed_at') },
    { dbType: 'sqlserver', ruleName: 'SQL Server 密码长期未修改', expr: olderThanStale('password_changed_at') },
    {
      dbType: 'oracle',
      ruleName: 'Oracle 长期未登录或密码陈旧',
      expr: { operator: 'OR', conditions: [olderThanStale('last_login_at'), olderThanStale('password_changed_at'), olderThanStale('password_expires_at')] },
    },
  ],
};

/** SPEC §2.7 defaults, with PostgreSQL rules on the synced attribute keys and read-only rules added. */
const DEFAULTS: DefaultClassification[] = [
  {
    name: '特权账户', riskLevel: 'critical', color: '#dc3545', priority: 90, description: '超级用户与服务器管理员',
    rules: [
      { dbType: 'mysql', ruleName: 'MySQL SUPER', expr: { type: 'mysql_permissions', global_privileges: ['SUPER'], operator: 'OR' } },
      { dbType: 'sqlserver', ruleName: 'SQL Server sysadmin', expr: { type: 'sqlserver_permissions', server_roles: ['sysadmin'], operator: 'OR' } },
      { dbType: 'postgresql', ruleName: 'PostgreSQL SUPERUSER', expr: { type: 'postgresql_permissions', role_attributes: ['can_super'], operator: 'OR' } },
    ],
  },
  {
    name: '敏感账户', riskLevel: 'high', color: '#fd7e14', priority: 80, description: '可以授予权限或管理安全',
    rules: [
      { dbType: 'mysql', ruleName: 'MySQL GRANT OPTION', expr: { type: 'mysql_permissions', global_privileges: ['GRANT OPTION'], operator: 'OR' } },
      { dbType: 'sqlserver', ruleName: 'SQL Server securityadmin', expr: { type: 'sqlserver_permissions', server_roles: ['securityadmin'], operator: 'OR' } },
      { dbType: 'oracle', ruleName: 'Oracle DBA', expr: { type: 'oracle_permissions', roles: ['DBA'], operator: 'OR' } },
    ],
  },
  {
    name: '风险账户', riskLevel: 'medium', color: '#bf17fd', priority: 70, description: '可以删除数据或管理角色',
    rules: [
      { dbType: 'mysql', ruleName: 'MySQL DROP', expr: { type: 'mysql_permissions', global_privileges: ['DROP'], database_privileges: ['DROP'], operator: 'OR' } },
      { dbType: 'sqlserver', ruleName: 'SQL Server 高危权限', expr: { type: 'sqlserver_permissions', server_permissions: ['ALTER ANY DATABASE'], database_roles: ['db_owner'], database_privileges: ['DELETE'], operator: 'OR' } },
      { dbType: 'postgresql', ruleName: 'PostgreSQL CREATEROLE', expr: { type: 'postgresql_permissions', role_attributes: ['can_create_role'], operator: 'OR' } },
    ],
  },
  { name: '普通账户', riskLevel: 'low', color: '#3c49fb', priority: 60, description: '普通业务账户 (手动分配)', rules: [] },
  {
    name: '只读用户', riskLevel: 'low', color: '#69dc38', priority: 50, description: '只能读取数据',
    rules: [
      {
        dbType: 'mysql',
        ruleName: 'MySQL 只读',
        expr: {
          operator: 'AND',
          conditions: [
            { operator: 'OR', conditions: [{ field: 'global_privileges', op: 'has', value: 'SELECT' }, { field: 'database_privileges', op: 'has', value: 'SELECT' }] },
            { field: 'global_privileges', op: 'has_none', value: [...WRITE_PRIVILEGES, 'SUPER', 'FILE', 'CREATE USER'] },
            { field: 'database_privileges', op: 'has_none', value: WRITE_PRIVILEGES },
          ],
        },
      },
      {
        dbType: 'postgresql',
        ruleName: 'PostgreSQL 只读',
        expr: {
          operator: 'AND',
          conditions: [
            { field: 'predefined_roles', op: 'has_any', value: ['pg_read_all_data'] },
            { field: 'predefined_roles', op: 'has_none', value: ['pg_write_all_data'] },
            { field: 'role_attributes', op: 'has_none', value: ['can_super', 'can_create_role', 'can_create_db', 'can_bypass_rls'] },
          ],
        },
      },
    ],
  },
  STALE_CLASSIFICATION,
];

/** Seeds the permission catalogue (kept in step with the code) and, on a new installation, the default classifications. */
/** pg_advisory_xact_lock key serialising the seeding of default classifications between replicas. */
const SEED_LOCK_NS = 72_707_011;

export async function seedClassificationDefaults(deps: Pick<AppDeps, 'prisma'>): Promise<void> {
  await deps.prisma.permissionConfig.createMany({ data: permissionConfigRows(), skipDuplicates: true });
  if ((await deps.prisma.accountClassification.count()) > 0) return;
  await deps.prisma.$transaction(async (tx) => {
    // Replicas starting together on a new database: one seeds, the others wait and then see its rows
    // (without the lock, the loser's insert hit the unique name and its start-up failed).
    await tx.$queryRaw`SELECT 1 AS locked FROM pg_advisory_xact_lock(${SEED_LOCK_NS})`;
    if ((await tx.accountClassification.count()) > 0) return;
    for (const d of DEFAULTS) {
      const c = await tx.accountClassification.create({ data: { name: d.name, riskLevel: d.riskLevel, color: d.color, priority: d.priority, description: d.description, iconName: 'fa-tag', isSystem: true } });
      for (const r of d.rules) {
        normalizeRule(r.dbType, r.expr);
        await tx.classificationRule.create({ data: { classificationId: c.id, dbType: r.dbType, ruleName: r.ruleName, ruleExpression: r.expr as Prisma.InputJsonValue } });
      }
    }
  });
}
