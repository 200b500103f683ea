/**
 * Change detection between the stored account row and a fresh snapshot from the engine (SPEC §3.4,
 * with the [FIX]es: add/delete/restore are logged too, Oracle roles count as privileges). Pure: no I/O.
 */
import type { UnifiedAccount } from '../../adapters/types.js';

/** Privilege columns compared as sets. Keys are the snake_case column names used in diffs. */
const LIST_FIELDS = {
  global_privileges: 'globalPrivileges',
  predefined_roles: 'predefinedRoles',
  server_roles: 'serverRoles',
  server_permissions: 'serverPermissions',
  oracle_roles: 'oracleRoles',
  system_privileges: 'systemPrivileges',
} as const;

/** Privilege columns shaped {scope: [privilege]}, compared per scope as sets. */
const SCOPED_FIELDS = {
  database_privileges: 'databasePrivileges',
  database_privileges_pg: 'databasePrivilegesPg',
  tablespace_privileges: 'tablespacePrivileges',
  database_roles: 'databaseRoles',
  database_permissions: 'databasePermissions',
  tablespace_privileges_oracle: 'tablespacePrivilegesOracle',
} as const;

/** [diff key, field] pairs, built once: diffAccount runs for every stored account on every sync. */
const LIST_ENTRIES = Object.entries(LIST_FIELDS);
const SCOPED_ENTRIES = Object.entries(SCOPED_FIELDS);

/** The stored side: the same fields as UnifiedAccount, JSON columns possibly null. */
export type StoredAccount = {
  isSuperuser: boolean;
  isActive: boolean;
  isLocked: boolean;
  host: string | null;
  roleAttributes: unknown;
  typeSpecific: unknown;
} & { [K in (typeof LIST_FIELDS)[keyof typeof LIST_FIELDS] | (typeof SCOPED_FIELDS)[keyof typeof SCOPED_FIELDS]]: unknown };

export type ListDiff = { added: string[]; removed: string[] };
export type ScopedDiff = { added: Record<string, string[]>; removed: Record<string, string[]> };
export type ValueDiff = { old: unknown; new: unknown };
export type MapDiff = { added: Record<string, unknown>; removed: Record<string, unknown> };

export interface AccountDiff {
  /** Privilege changes: is_superuser, list/scoped privilege columns, role_attributes. */
  privilege: Record<string, ListDiff | ScopedDiff | ValueDiff | MapDiff>;
  /** Other attribute changes: is_active, is_locked, host, type_specific. */
  other: Record<string, ValueDiff | MapDiff>;
}

export type ChangeType = 'add' | 'modify_privilege' | 'modify_other' | 'delete' | 'restore';

const asList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
const asScoped = (v: unknown): Record<string, string[]> => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
  const out: Record<string, string[]> = {};
  for (const [k, list] of Object.entries(v)) out[k] = asList(list);
  return out;
};
const asMap = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (!v || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * True only when the two values certainly serialise alike (same primitives, arrays in the same order,
 * objects with the same keys in any order): the cheap answer for unchanged values, which stable()
 * would otherwise stringify on every sync. False means "compare with stable()", not "different".
 */
function surelyEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!surelyEqual(a[i], b[i])) return false;
    return true;
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (!Object.hasOwn(b, k) || !surelyEqual(a[k], b[k])) return false;
  return true;
}

function listDiff(oldV: unknown, newV: unknown): ListDiff | undefined {
  if (surelyEqual(oldV, newV)) return undefined;
  const a = new Set(asList(oldV));
  const b = new Set(asList(newV));
  const added = [...b].filter((x) => !a.has(x)).sort();
  const removed = [...a].filter((x) => !b.has(x)).sort();
  return added.length || removed.length ? { added, removed } : undefined;
}

function scopedDiff(oldV: unknown, newV: unknown): ScopedDiff | undefined {
  if (surelyEqual(oldV, newV)) return undefined;
  const a = asScoped(oldV);
  const b = asScoped(newV);
  const added: Record<string, string[]> = {};
  const removed: Record<string, string[]> = {};
  for (const scope of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = listDiff(a[scope], b[scope]);
    if (!d) continue;
    if (d.added.length) added[scope] = d.added;
    if (d.removed.length) removed[scope] = d.removed;
  }
  return Object.keys(added).length || Object.keys(removed).length ? { added, removed } : undefined;
}

const stable = (v: unknown): string => JSON.stringify(v, (_k, val) => (val && typeof val === 'object' && !Array.isArray(val) ? Object.fromEntries(Object.entries(val).sort()) : val));

function mapDiff(oldV: unknown, newV: unknown): MapDiff | undefined {
  if (surelyEqual(oldV, newV)) return undefined;
  const a = asMap(oldV);
  const b = asMap(newV);
  const added: Record<string, unknown> = {};
  const removed: Record<string, unknown> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (surelyEqual(a[k], b[k]) || stable(a[k]) === stable(b[k])) continue;
    if (k in b) added[k] = b[k];
    if (k in a) removed[k] = a[k];
  }
  return Object.keys(added).length || Object.keys(removed).length ? { added, removed } : undefined;
}

/** The differences between the stored row and the fresh snapshot; empty parts when equal. */
export function diffAccount(stored: StoredAccount, fresh: UnifiedAccount): AccountDiff {
  const privilege: AccountDiff['privilege'] = {};
  const other: AccountDiff['other'] = {};
  if (stored.isSuperuser !== fresh.isSuperuser) privilege.is_superuser = { old: stored.isSuperuser, new: fresh.isSuperuser };
  for (const [key, field] of LIST_ENTRIES) {
    const d = listDiff(stored[field], fresh[field]);
    if (d) privilege[key] = d;
  }
  for (const [key, field] of SCOPED_ENTRIES) {
    const d = scopedDiff(stored[field], fresh[field]);
    if (d) privilege[key] = d;
  }
  const attrs = mapDiff(stored.roleAttributes, fresh.roleAttributes);
  if (attrs) privilege.role_attributes = attrs;
  if (stored.isActive !== fresh.isActive) other.is_active = { old: stored.isActive, new: fresh.isActive };
  if (stored.isLocked !== fresh.isLocked) other.is_locked = { old: stored.isLocked, new: fresh.isLocked };
  if ((stored.host ?? null) !== (fresh.host ?? null)) other.host = { old: stored.host, new: fresh.host ?? null };
  const ts = mapDiff(stored.typeSpecific, fresh.typeSpecific);
  if (ts) other.type_specific = ts;
  return { privilege, other };
}

/** The staleness columns: stored on every sync, never part of a diff (see staleDatesChanged). */
export type StalenessDates = { lastLoginAt?: Date | null; passwordChangedAt?: Date | null; passwordExpiresAt?: Date | null };
const STALENESS_KEYS = ['lastLoginAt', 'passwordChangedAt', 'passwordExpiresAt'] as const;
const timeOrNull = (d: Date | string | null | undefined) => (d ? new Date(d).getTime() : null);

/**
 * Whether the staleness dates moved. They are not privilege or attribute changes: last_login_at
 * moves with every login (comparing it would log a change per account per sync), and the password
 * dates are mirrored in type_specific where the engine has them there (MySQL password_last_changed,
 * PostgreSQL valid_until, Oracle expiry_date), which is compared. The writer refreshes them quietly:
 * no change-log row, no last_change_time.
 */
export function staleDatesChanged(stored: StalenessDates, fresh: StalenessDates): boolean {
  return STALENESS_KEYS.some((k) => timeOrNull(stored[k]) !== timeOrNull(fresh[k]));
}

export function isEmptyDiff(d: AccountDiff): boolean {
  return Object.keys(d.privilege).length === 0 && Object.keys(d.other).length === 0;
}

export function changeTypeOf(d: AccountDiff): 'modify_privilege' | 'modify_other' {
  return Object.keys(d.privilege).length > 0 ? 'modify_privilege' : 'modify_other';
}

/** The snapshot of a new account expressed as a diff from nothing (for `add` change-log rows). */
export function diffFromNothing(fresh: UnifiedAccount): AccountDiff {
  const empty: StoredAccount = {
    isSuperuser: false,
    isActive: fresh.isActive,
    isLocked: fresh.isLocked,
    host: fresh.host ?? null,
    roleAttributes: null,
    typeSpecific: fresh.typeSpecific,
  } as StoredAccount;
  const d = diffAccount(empty, fresh);
  if (fresh.isSuperuser) d.privilege.is_superuser = { old: null, new: true };
  return d;
}

const LABELS: Record<string, string> = {
  global_privileges: '全局权限',
  predefined_roles: '角色',
  server_roles: '服务器角色',
  server_permissions: '服务器权限',
  oracle_roles: '角色',
  system_privileges: '系统权限',
  database_privileges: '数据库权限',
  database_privileges_pg: '数据库权限',
  tablespace_privileges: '表空间权限',
  database_roles: '数据库角色',
  database_permissions: '数据库权限',
  tablespace_privileges_oracle: '表空间权限',
};

/** Human description in the upstream style ("新增全局权限: A, B; 数据库 x 移除权限: …"). */
export function describeDiff(d: AccountDiff): string {
  const parts: string[] = [];
  for (const [key, v] of Object.entries(d.privilege)) {
    if (key === 'is_superuser') parts.push((v as ValueDiff).new ? '提升为超级用户' : '取消超级用户权限');
    else if (key === 'role_attributes') {
      const m = v as MapDiff;
      parts.push(`角色属性变更: ${[...new Set([...Object.keys(m.added), ...Object.keys(m.removed)])].join(', ')}`);
    } else if ('added' in v && Array.isArray((v as ListDiff).added)) {
      const l = v as ListDiff;
      if (l.added.length) parts.push(`新增${LABELS[key] ?? key}: ${l.added.join(', ')}`);
      if (l.removed.length) parts.push(`移除${LABELS[key] ?? key}: ${l.removed.join(', ')}`);
    } else {
      const s = v as ScopedDiff;
      for (const [scope, list] of Object.entries(s.added)) parts.push(`${scope} 新增${LABELS[key] ?? key}: ${list.join(', ')}`);
      for (const [scope, list] of Object.entries(s.removed)) parts.push(`${scope} 移除${LABELS[key] ?? key}: ${list.join(', ')}`);
    }
  }
  if (d.other.is_active) parts.push((d.other.is_active as ValueDiff).new ? '账户已启用' : '账户已停用');
  if (d.other.is_locked) parts.push((d.other.is_locked as ValueDiff).new ? '账户已锁定' : '账户已解锁');
  if (d.other.host) parts.push('主机变更');
  if (d.other.type_specific) {
    const m = d.other.type_specific as MapDiff;
    const keys = [...new Set([...Object.keys(m.added), ...Object.keys(m.removed)])];
    parts.push(`更新类型特定信息: ${keys.join(', ')}`);
  }
  return parts.join('; ') || '权限已更新';
}
