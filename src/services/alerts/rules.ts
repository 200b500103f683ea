/**
 * Alert rule kinds and their evaluation against account change-log rows. The kinds are a fixed set;
 * a rule only chooses a kind, a severity and the kind's filters (validated here), never code. Pure:
 * no I/O, so the matching is unit-tested from change rows.
 */
import { z } from 'zod';
import { DB_TYPES } from '../../adapters/types.js';

export const ALERT_RULE_KINDS = ['new_superuser', 'privilege_granted', 'account_created', 'account_deleted', 'privilege_outside_baseline'] as const;
export type AlertRuleKind = (typeof ALERT_RULE_KINDS)[number];

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** Severity of a rule created without one. */
export const DEFAULT_SEVERITY: Record<AlertRuleKind, Severity> = {
  new_superuser: 'critical',
  privilege_granted: 'warning',
  privilege_outside_baseline: 'warning',
  account_created: 'info',
  account_deleted: 'info',
};

export const KIND_DESCRIPTIONS: Record<AlertRuleKind, string> = {
  new_superuser: 'An account added as superuser, restored as one, or changed to superuser',
  privilege_granted: 'A privilege, role or role attribute granted to an account (new accounts included); filter: privileges',
  account_created: 'An account created (or a deleted one that reappeared)',
  account_deleted: 'An account that disappeared from the instance',
  privilege_outside_baseline: "A privilege granted that the instance's baseline does not allow (no alert while the instance has no baseline)",
};

const name = z.string().trim().min(1, '不能为空').max(100, '最多 100 个字符');
const list = (item: z.ZodTypeAny, label: string) =>
  z.array(item, { invalid_type_error: `${label} 必须是数组` }).max(100, `${label} 最多 100 项`).optional();

/**
 * Filters a rule may set. Every kind accepts the instance scope (db types, instance tags, instance
 * environments: an instance matches when it has any of the listed values); `privileges` only
 * privilege_granted and privilege_outside_baseline. Keys may be sent snake_case (REST) or camelCase.
 */
const scopeShape = {
  dbTypes: list(z.enum(DB_TYPES, { errorMap: () => ({ message: `数据库类型必须是 ${DB_TYPES.join(', ')} 之一` }) }), 'db_types'),
  instanceTags: list(name, 'instance_tags'),
  environments: list(name, 'environments'),
};
const privilegeShape = { ...scopeShape, privileges: list(z.string().trim().min(1).max(255), 'privileges') };

export const CONDITION_SCHEMAS: Record<AlertRuleKind, z.ZodTypeAny> = {
  new_superuser: z.object(scopeShape).strict(),
  privilege_granted: z.object(privilegeShape).strict(),
  privilege_outside_baseline: z.object(privilegeShape).strict(),
  account_created: z.object(scopeShape).strict(),
  account_deleted: z.object(scopeShape).strict(),
};

export interface RuleConditions {
  dbTypes?: string[];
  instanceTags?: string[];
  environments?: string[];
  privileges?: string[];
}

const SNAKE_KEYS: Record<string, string> = { db_types: 'dbTypes', instance_tags: 'instanceTags' };

/** Conditions as sent by a client (snake_case or camelCase keys), before validation. */
export function normalizeConditionKeys(raw: unknown): unknown {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [SNAKE_KEYS[k] ?? k, v]));
}

/** Empty lists mean "no filter"; they are dropped so stored conditions stay minimal. */
export function compactConditions(c: RuleConditions): RuleConditions {
  return Object.fromEntries(Object.entries(c).filter(([, v]) => Array.isArray(v) && v.length > 0)) as RuleConditions;
}

/**
 * A privilege an account gained: the diff column, the scope (database, tablespace…) and the name.
 * Grants reported outside a baseline carry their canonical privilege line, and `field` is the line's
 * kind (`database`, `role`, `attribute`…) instead of a diff column.
 */
export interface Grant {
  field: string;
  scope?: string;
  privilege: string;
  line?: string;
}

/** The change-log row as the evaluator needs it. */
export interface AlertChange {
  id: number;
  accountId: number | null;
  username: string;
  changeType: string;
  privilegeDiff: unknown;
  /** Non-privilege changes; MySQL table privileges and roles live in type_specific, so they show here. */
  otherDiff?: unknown;
}

export interface InstanceFacts {
  id: number;
  name: string;
  dbType: string;
  environment: string;
  tags: string[];
}

export interface RuleLike {
  id: number;
  name: string;
  kind: string;
  severity: string;
  conditions: unknown;
}

export interface RuleMatch {
  ruleId: number;
  changeLogId: number;
  message: string;
  details: Record<string, unknown>;
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Whether a privilege diff turns the account into a superuser. */
export function becameSuperuser(privilegeDiff: unknown): boolean {
  return isObj(privilegeDiff) && isObj(privilegeDiff.is_superuser) && privilegeDiff.is_superuser.new === true;
}

/**
 * Everything a privilege diff added: list columns (global privileges, roles…), scoped columns
 * ({database: [privilege]}), role attributes switched on (PostgreSQL can_create_role…) and
 * superuser itself (as SUPERUSER).
 */
export function grantsOf(privilegeDiff: unknown): Grant[] {
  if (!isObj(privilegeDiff)) return [];
  const out: Grant[] = [];
  for (const [field, d] of Object.entries(privilegeDiff)) {
    if (!isObj(d)) continue;
    if (field === 'is_superuser') {
      if (d.new === true) out.push({ field, privilege: 'SUPERUSER' });
    } else if (field === 'role_attributes') {
      if (isObj(d.added)) for (const [attr, v] of Object.entries(d.added)) if (v === true) out.push({ field, privilege: attr });
    } else if (Array.isArray(d.added)) {
      for (const p of d.added) out.push({ field, privilege: String(p) });
    } else if (isObj(d.added)) {
      for (const [scope, privs] of Object.entries(d.added)) if (Array.isArray(privs)) for (const p of privs) out.push({ field, scope, privilege: String(p) });
    }
  }
  return out;
}

const lower = (xs: string[] | undefined) => (xs ?? []).map((x) => x.toLowerCase());

/** Whether the instance is in the rule's scope (db type, tags, environment: any listed value). */
export function instanceInScope(c: RuleConditions, inst: InstanceFacts): boolean {
  if (c.dbTypes?.length && !c.dbTypes.includes(inst.dbType)) return false;
  if (c.instanceTags?.length) {
    const tags = new Set(lower(inst.tags));
    if (!lower(c.instanceTags).some((t) => tags.has(t))) return false;
  }
  if (c.environments?.length && !lower(c.environments).includes(inst.environment.toLowerCase())) return false;
  return true;
}

/**
 * Grants whose privilege name (or, for grants outside a baseline, whole privilege line) is one of the
 * filter's (case-insensitive); all of them without a filter.
 */
export function filterGrants(grants: Grant[], privileges: string[] | undefined): Grant[] {
  if (!privileges?.length) return grants;
  const wanted = new Set(lower(privileges));
  return grants.filter((g) => wanted.has(g.privilege.toLowerCase()) || (g.line !== undefined && wanted.has(g.line.toLowerCase())));
}

const grantText = (gs: Grant[]) => gs.map((g) => g.line ?? (g.scope ? `${g.scope}.${g.privilege}` : g.privilege)).join(', ');

/**
 * Evaluates one rule against one change. `outsideBaseline` is what privilegesOutsideBaseline()
 * reported for this change (privilege_outside_baseline only). Returns the match, or null.
 */
export function evaluateRule(rule: RuleLike, change: AlertChange, inst: InstanceFacts, outsideBaseline: Grant[] = []): RuleMatch | null {
  const c = (isObj(rule.conditions) ? rule.conditions : {}) as RuleConditions;
  if (!instanceInScope(c, inst)) return null;
  const where = `（实例 ${inst.name}）`;
  const match = (message: string, details: Record<string, unknown> = {}): RuleMatch => ({ ruleId: rule.id, changeLogId: change.id, message, details });
  switch (rule.kind as AlertRuleKind) {
    case 'new_superuser':
      if (!['add', 'restore', 'modify_privilege'].includes(change.changeType) || !becameSuperuser(change.privilegeDiff)) return null;
      return match(change.changeType === 'add' ? `新增超级用户账户: ${change.username}${where}` : `账户成为超级用户: ${change.username}${where}`);
    case 'privilege_granted': {
      if (!['add', 'restore', 'modify_privilege'].includes(change.changeType)) return null;
      const grants = filterGrants(grantsOf(change.privilegeDiff), c.privileges);
      if (grants.length === 0) return null;
      return match(`账户被授予权限: ${change.username}: ${grantText(grants)}${where}`, { grants });
    }
    case 'privilege_outside_baseline': {
      const grants = filterGrants(outsideBaseline, c.privileges);
      if (grants.length === 0) return null;
      // lines: the canonical privilege lines outside the baseline (as in the drift report and the grant export).
      return match(`账户被授予基线之外的权限: ${change.username}: ${grantText(grants)}${where}`, { lines: grants.map((g) => g.line ?? g.privilege), grants });
    }
    case 'account_created':
      if (change.changeType !== 'add' && change.changeType !== 'restore') return null;
      return match(change.changeType === 'add' ? `新建账户: ${change.username}${where}` : `已删除的账户重新出现: ${change.username}${where}`, {
        restored: change.changeType === 'restore',
      });
    case 'account_deleted':
      if (change.changeType !== 'delete') return null;
      return match(`账户被删除: ${change.username}${where}`);
    default:
      return null;
  }
}
