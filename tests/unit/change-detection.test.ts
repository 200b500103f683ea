import { describe, expect, it } from 'vitest';
import { changeTypeOf, describeDiff, diffAccount, diffFromNothing, isEmptyDiff, type StoredAccount } from '../../src/services/accounts/change-detection.js';
import type { UnifiedAccount } from '../../src/adapters/types.js';

const base: UnifiedAccount = {
  username: 'app@%',
  host: '%',
  isSuperuser: false,
  isActive: true,
  isLocked: false,
  globalPrivileges: ['SELECT', 'INSERT'],
  databasePrivileges: { shop: ['SELECT', 'UPDATE'] },
  typeSpecific: { plugin: 'mysql_native_password', is_locked: false },
};

/** The stored row as the writer persists it (JSON columns null when the engine has none). */
function stored(a: UnifiedAccount): StoredAccount {
  return {
    isSuperuser: a.isSuperuser,
    isActive: a.isActive,
    isLocked: a.isLocked,
    host: a.host ?? null,
    roleAttributes: a.roleAttributes ?? null,
    typeSpecific: a.typeSpecific,
    globalPrivileges: a.globalPrivileges ?? null,
    databasePrivileges: a.databasePrivileges ?? null,
    predefinedRoles: a.predefinedRoles ?? null,
    databasePrivilegesPg: a.databasePrivilegesPg ?? null,
    tablespacePrivileges: a.tablespacePrivileges ?? null,
    serverRoles: a.serverRoles ?? null,
    serverPermissions: a.serverPermissions ?? null,
    databaseRoles: a.databaseRoles ?? null,
    databasePermissions: a.databasePermissions ?? null,
    oracleRoles: a.oracleRoles ?? null,
    systemPrivileges: a.systemPrivileges ?? null,
    tablespacePrivilegesOracle: a.tablespacePrivilegesOracle ?? null,
  };
}

describe('account change detection', () => {
  it('finds nothing when only the order of privileges differs', () => {
    const d = diffAccount(stored(base), { ...base, globalPrivileges: ['INSERT', 'SELECT'], typeSpecific: { is_locked: false, plugin: 'mysql_native_password' } });
    expect(isEmptyDiff(d)).toBe(true);
  });

  it('reports added and removed list privileges as a privilege change', () => {
    const d = diffAccount(stored(base), { ...base, globalPrivileges: ['SELECT', 'SUPER'] });
    expect(d.privilege.global_privileges).toEqual({ added: ['SUPER'], removed: ['INSERT'] });
    expect(changeTypeOf(d)).toBe('modify_privilege');
    expect(describeDiff(d)).toBe('新增全局权限: SUPER; 移除全局权限: INSERT');
  });

  it('reports per-database changes and new/removed databases', () => {
    const d = diffAccount(stored(base), { ...base, databasePrivileges: { shop: ['SELECT'], crm: ['SELECT'] } });
    expect(d.privilege.database_privileges).toEqual({ added: { crm: ['SELECT'] }, removed: { shop: ['UPDATE'] } });
  });

  it('treats superuser flips as privilege changes and lock/type-specific changes as other changes', () => {
    expect(changeTypeOf(diffAccount(stored(base), { ...base, isSuperuser: true }))).toBe('modify_privilege');
    const locked = diffAccount(stored(base), { ...base, isLocked: true, isActive: false, typeSpecific: { ...base.typeSpecific, is_locked: true } });
    expect(changeTypeOf(locked)).toBe('modify_other');
    expect(locked.other).toMatchObject({ is_locked: { old: false, new: true }, is_active: { old: true, new: false }, type_specific: { added: { is_locked: true }, removed: { is_locked: false } } });
    expect(describeDiff(locked)).toContain('账户已锁定');
  });

  it('compares PostgreSQL role attributes by value and Oracle roles as privileges', () => {
    const pg: UnifiedAccount = { username: 'r', isSuperuser: false, isActive: true, isLocked: false, roleAttributes: { can_login: true, connection_limit: -1 }, typeSpecific: {} };
    const d = diffAccount(stored(pg), { ...pg, roleAttributes: { can_login: true, connection_limit: 5 } });
    expect(d.privilege.role_attributes).toEqual({ added: { connection_limit: 5 }, removed: { connection_limit: -1 } });
    const ora: UnifiedAccount = { username: 'U', isSuperuser: false, isActive: true, isLocked: false, oracleRoles: ['CONNECT'], typeSpecific: {} };
    expect(changeTypeOf(diffAccount(stored(ora), { ...ora, oracleRoles: ['CONNECT', 'DBA'] }))).toBe('modify_privilege');
  });

  it('describes a new account as a diff from nothing', () => {
    const d = diffFromNothing({ ...base, isSuperuser: true });
    expect(d.privilege.global_privileges).toEqual({ added: ['INSERT', 'SELECT'], removed: [] });
    expect(d.privilege.is_superuser).toEqual({ old: null, new: true });
  });
});

describe('staleness dates', () => {
  it('never make a diff (a moving last login is no change); the writer refreshes them quietly', async () => {
    const { staleDatesChanged } = await import('../../src/services/accounts/change-detection.js');
    const fresh: UnifiedAccount = { ...base, lastLoginAt: new Date('2026-11-30Z'), passwordChangedAt: new Date('2026-01-01Z'), passwordExpiresAt: null };
    const old = { ...stored(base), lastLoginAt: new Date('2026-11-01Z'), passwordChangedAt: new Date('2026-01-01Z'), passwordExpiresAt: null };
    expect(isEmptyDiff(diffAccount(old, fresh))).toBe(true);
    expect(staleDatesChanged(old, fresh)).toBe(true);
    expect(staleDatesChanged({ ...old, lastLoginAt: new Date('2026-11-30Z') }, fresh)).toBe(false);
    // Absent (engine reports nothing) and null are the same.
    expect(staleDatesChanged({}, { lastLoginAt: null, passwordChangedAt: undefined })).toBe(false);
  });
});
