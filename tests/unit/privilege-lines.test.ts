import { describe, expect, it } from 'vitest';
import { normalizePostgres } from '../../src/adapters/postgres.js';
import { normalizeMysql } from '../../src/adapters/mysql.js';
import { normalizeSqlServer } from '../../src/adapters/sqlserver.js';
import { normalizeOracle } from '../../src/adapters/oracle.js';
import { grantRows, grantText, privilegeLines } from '../../src/services/accounts/privilege-lines.js';
import { applyAccepted, computeDrift, summarize } from '../../src/services/drift/drift.js';

const pgRole = (rolname: string, over: Partial<Parameters<typeof normalizePostgres>[0]['roles'][number]> = {}) => ({
  rolname,
  oid: 16384,
  rolsuper: false,
  rolcreaterole: false,
  rolcreatedb: false,
  rolcanlogin: true,
  rolinherit: true,
  rolreplication: false,
  rolbypassrls: false,
  rolconnlimit: -1,
  valid_until: null,
  ...over,
});

describe('privilege lines per engine', () => {
  it('PostgreSQL: attributes, memberships, database and table privileges, tablespaces', () => {
    const [app, admin] = normalizePostgres({
      roles: [pgRole('app', { rolcreatedb: true, rolconnlimit: 5 }), pgRole('admin', { rolsuper: true, rolcreaterole: true, rolreplication: true, rolbypassrls: true, rolinherit: false })],
      memberships: [
        { member: 'app', role: 'readers' },
        { member: 'app', role: 'pg_read_all_data' },
      ],
      tablePrivileges: [
        { grantee: 'app', privilege_type: 'SELECT' },
        { grantee: 'app', privilege_type: 'INSERT' },
      ],
      databasePrivileges: [
        { datname: 'shop', grantee: 'app', privilege_type: 'CONNECT' },
        { datname: 'other', grantee: 'app', privilege_type: 'TEMPORARY' },
      ],
      tablespaces: [{ rolname: 'admin', spcname: 'fast' }],
      passwords: null,
      database: 'shop',
    });
    expect(privilegeLines('postgresql', app!)).toEqual([
      'attribute:connection_limit=5',
      'attribute:createdb',
      'attribute:inherit',
      'attribute:login',
      'database:other:TEMPORARY',
      'database:shop:CONNECT',
      'database:shop:INSERT',
      'database:shop:SELECT',
      'role:pg_read_all_data',
      'role:readers',
    ]);
    expect(privilegeLines('postgresql', admin!)).toEqual([
      'attribute:bypassrls',
      'attribute:createrole',
      'attribute:login',
      'attribute:replication',
      'attribute:superuser',
      'tablespace:fast:CREATE',
    ]);
  });

  it('MySQL/MariaDB: global (without USAGE), database, table and column privileges, roles, GRANT OPTION', () => {
    const a = normalizeMysql(
      { User: 'web', Host: '10.%', Super_priv: 'N', Grant_priv: 'N' },
      [
        "GRANT USAGE ON *.* TO `web`@`10.%` IDENTIFIED BY PASSWORD '<redacted>'",
        'GRANT SELECT, INSERT, CREATE ROUTINE ON `shop`.* TO `web`@`10.%`',
        'GRANT SELECT (id, name), UPDATE ON `shop`.`orders` TO `web`@`10.%` WITH GRANT OPTION',
        'GRANT `app_role` TO `web`@`10.%`',
      ],
      false,
    );
    expect(privilegeLines('mysql', a)).toEqual([
      'database:shop:CREATE ROUTINE',
      'database:shop:INSERT',
      'database:shop:SELECT',
      'role:app_role',
      'table:shop.orders:GRANT OPTION',
      'table:shop.orders:SELECT (ID, NAME)',
      'table:shop.orders:UPDATE',
    ]);
    const dba = normalizeMysql({ User: 'dba', Host: '%', Super_priv: 'Y' }, ['GRANT SUPER, RELOAD ON *.* TO `dba`@`%` WITH GRANT OPTION'], false);
    expect(privilegeLines('mysql', dba)).toEqual(['global:GRANT OPTION', 'global:RELOAD', 'global:SUPER']);
    // Raw grant statements never become lines.
    expect(privilegeLines('mysql', a).join('\n')).not.toContain('IDENTIFIED');
  });

  it('SQL Server: server roles and permissions, database roles and permissions', () => {
    const [l] = normalizeSqlServer({
      logins: [{ name: 'app', principal_id: 260, type_desc: 'SQL_LOGIN', is_disabled: false, default_database_name: 'master', default_language_name: 'us_english', is_expiration_checked: false, is_policy_checked: true }],
      serverRoles: [{ login: 'app', role: 'dbcreator' }],
      serverPermissions: [
        { login: 'app', permission: 'VIEW SERVER STATE' },
        { login: 'app', permission: 'CONNECT SQL' },
      ],
      dbRoles: [
        { login: 'app', db: 'shop', role: 'db_datareader' },
        { login: 'app', db: 'shop', role: 'db_datawriter' },
      ],
      dbPermissions: [{ login: 'app', db: 'shop', permission: 'EXECUTE' }],
      databases: ['shop'],
    });
    expect(privilegeLines('sqlserver', l!)).toEqual([
      'database:shop:EXECUTE',
      'database_role:shop:db_datareader',
      'database_role:shop:db_datawriter',
      'server:CONNECT SQL',
      'server:VIEW SERVER STATE',
      'server_role:dbcreator',
    ]);
  });

  it('Oracle: roles, system privileges, tablespace quotas', () => {
    const [u] = normalizeOracle({
      users: [{ USERNAME: 'APP', USER_ID: 101, ACCOUNT_STATUS: 'OPEN', CREATED: null, EXPIRY_DATE: null, DEFAULT_TABLESPACE: 'USERS', TEMPORARY_TABLESPACE: 'TEMP', PROFILE: 'DEFAULT' }],
      roles: [
        { GRANTEE: 'APP', GRANTED_ROLE: 'RESOURCE' },
        { GRANTEE: 'APP', GRANTED_ROLE: 'CONNECT' },
      ],
      sysPrivs: [{ GRANTEE: 'APP', PRIVILEGE: 'CREATE SESSION' }],
      quotas: [
        { USERNAME: 'APP', TABLESPACE_NAME: 'USERS', MAX_BYTES: -1 },
        { USERNAME: 'APP', TABLESPACE_NAME: 'DATA', MAX_BYTES: 1048576 },
      ],
    });
    expect(privilegeLines('oracle', u!)).toEqual(['role:CONNECT', 'role:RESOURCE', 'system:CREATE SESSION', 'tablespace:DATA:QUOTA', 'tablespace:USERS:UNLIMITED']);
  });

  it('is independent of the order of lists and JSON object keys, and keeps lines on one line', () => {
    const a = privilegeLines('mysql', { globalPrivileges: ['SELECT', 'INSERT'], databasePrivileges: { b: ['Y', 'X'], a: ['Z'] }, typeSpecific: { roles: ['r2', 'r1'] } });
    const b = privilegeLines('mysql', { typeSpecific: { roles: ['r1', 'r2', 'r1'] }, databasePrivileges: { a: ['Z'], b: ['X', 'Y'] }, globalPrivileges: ['INSERT', 'SELECT'] });
    expect(a).toEqual(b);
    expect(privilegeLines('postgresql', { predefinedRoles: ['evil\nrole\tx'] })).toEqual(['role:evil\\u000arole\\u0009x']);
  });
});

describe('grant export text', () => {
  it('sorts by account then line, one privilege per line, marks accounts without privileges', () => {
    const accounts = [
      { account: 'b@%', lines: ['global:SELECT', 'database:x:INSERT'] },
      { account: 'a@%', lines: [] },
      { account: 'B@%', lines: ['global:RELOAD'] },
    ];
    expect(grantText(accounts)).toBe('B@%\tglobal:RELOAD\na@%\t(none)\nb@%\tdatabase:x:INSERT\nb@%\tglobal:SELECT\n');
    expect(grantText([...accounts].reverse())).toBe(grantText(accounts));
    expect(grantRows(accounts)).toHaveLength(4);
  });
});

describe('drift', () => {
  const m = (o: Record<string, string[]>) => new Map(Object.entries(o));
  const baseline = m({ app: ['database:shop:SELECT', 'role:readers'], gone: ['attribute:login'], same: ['x'] });
  const reality = m({ app: ['database:shop:INSERT', 'database:shop:SELECT'], same: ['x'], newbie: ['attribute:login', 'attribute:inherit'] });

  it('reports extra and missing accounts and privileges, sorted', () => {
    const items = computeDrift(baseline, reality);
    expect(items).toEqual([
      { kind: 'extra_privilege', account: 'app', privilege: 'database:shop:INSERT', privileges: [] },
      { kind: 'missing_privilege', account: 'app', privilege: 'role:readers', privileges: [] },
      { kind: 'missing_account', account: 'gone', privilege: null, privileges: ['attribute:login'] },
      { kind: 'extra_account', account: 'newbie', privilege: null, privileges: ['attribute:inherit', 'attribute:login'] },
    ]);
    expect(summarize(items)).toEqual({ extraAccounts: 1, missingAccounts: 1, extraPrivileges: 1, missingPrivileges: 1, total: 4 });
    expect(computeDrift(reality, reality)).toEqual([]);
  });

  it('accepting every item makes the baseline equal reality; accepting some leaves the rest', () => {
    const items = computeDrift(baseline, reality);
    const all = applyAccepted(baseline, items, items);
    expect(computeDrift(all, reality)).toEqual([]);
    expect(Object.fromEntries(all)).toEqual({ app: ['database:shop:INSERT', 'database:shop:SELECT'], same: ['x'], newbie: ['attribute:inherit', 'attribute:login'] });
    const some = applyAccepted(baseline, items, [{ kind: 'missing_account', account: 'gone' }]);
    expect(computeDrift(some, reality).map((i) => i.kind)).toEqual(['extra_privilege', 'missing_privilege', 'extra_account']);
    expect(baseline.get('gone')).toEqual(['attribute:login']); // input untouched
  });
});
