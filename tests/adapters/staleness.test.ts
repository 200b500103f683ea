/**
 * Staleness data each engine exposes, parsed from rows shaped exactly as the catalogs return them
 * (the drivers' types: Date for timestamps, MariaDB's JSON_VALUE answers as strings, SQL Server's
 * LOGINPROPERTY cast to datetime/int, Oracle's upper-case column names).
 */
import { describe, expect, it } from 'vitest';
import { mariaPrivOf, mysqlPasswordAging, normalizeMysql } from '../../src/adapters/mysql.js';
import { normalizePostgres } from '../../src/adapters/postgres.js';
import { normalizeSqlServer } from '../../src/adapters/sqlserver.js';
import { normalizeOracle, oracleUserColumns } from '../../src/adapters/oracle.js';

const DAY = 86_400_000;

describe('PostgreSQL: VALID UNTIL is the password expiry; no login or change time', () => {
  it('maps rolvaliduntil (finite) and leaves the rest unknown', () => {
    const role = { rolname: 'old', oid: 1, rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolcanlogin: true, rolinherit: true, rolreplication: false, rolbypassrls: false, rolconnlimit: -1 };
    const cat = { memberships: [], tablePrivileges: [], databasePrivileges: [], tablespaces: [], passwords: null, database: 'postgres' };
    const [a, b] = normalizePostgres({ ...cat, roles: [{ ...role, valid_until: new Date('2001-02-03T04:05:06Z') }, { ...role, rolname: 'forever', valid_until: null }] });
    expect(a).toMatchObject({ passwordExpiresAt: new Date('2001-02-03T04:05:06Z'), typeSpecific: { valid_until: '2001-02-03T04:05:06.000Z' } });
    expect(a!.lastLoginAt).toBeUndefined();
    expect(a!.passwordChangedAt).toBeUndefined();
    expect(b!.passwordExpiresAt).toBeNull();
  });
});

describe('MySQL / MariaDB password aging', () => {
  const user = { User: 'app', Host: '%', Super_priv: 'N', Grant_priv: 'N', plugin: 'mysql_native_password' };

  it('MySQL: mysql.user password_last_changed, the account lifetime or the server default, PASSWORD EXPIRE', () => {
    const changed = new Date('2026-01-01T00:00:00Z');
    expect(mysqlPasswordAging({ ...user, password_last_changed: changed, password_lifetime: 30, password_expired: 'N' }, undefined, 0)).toEqual({
      changedAt: changed,
      expiresAt: new Date(changed.getTime() + 30 * DAY),
      expired: false,
      lifetimeDays: 30,
    });
    // NULL lifetime: the server's default_password_lifetime (0 = never).
    expect(mysqlPasswordAging({ ...user, password_last_changed: changed, password_lifetime: null, password_expired: 'N' }, undefined, 90).expiresAt).toEqual(new Date(changed.getTime() + 90 * DAY));
    expect(mysqlPasswordAging({ ...user, password_last_changed: changed, password_lifetime: null, password_expired: 'N' }, undefined, 0).expiresAt).toBeNull();
    expect(mysqlPasswordAging({ ...user, password_last_changed: changed, password_lifetime: 0, password_expired: 'Y' }, undefined, 90)).toMatchObject({ expiresAt: null, expired: true });
  });

  it('MariaDB: global_priv JSON (Unix seconds; 0 = expired; -1 = default lifetime), as JSON_VALUE returns it', () => {
    const m = mariaPrivOf({ User: 'app', Host: '%', account_locked: 'true', password_last_changed: '1767225600', password_lifetime: '-1' });
    expect(m).toEqual({ account_locked: true, password_last_changed: 1767225600, password_lifetime: -1 });
    const aging = mysqlPasswordAging({ ...user, password_expired: 'N' }, m, 10);
    expect(aging).toEqual({ changedAt: new Date('2026-01-01T00:00:00Z'), expiresAt: new Date('2026-01-11T00:00:00Z'), expired: false, lifetimeDays: 10 });
    // ALTER USER … PASSWORD EXPIRE: MariaDB sets password_last_changed to 0 (and the mysql.user view says 'Y').
    expect(mysqlPasswordAging({ ...user, password_expired: 'Y' }, mariaPrivOf({ password_last_changed: '0', password_lifetime: null, account_locked: null }), 0)).toEqual({
      changedAt: null,
      expiresAt: null,
      expired: true,
      lifetimeDays: 0,
    });
    // Accounts without the keys (e.g. mysql@localhost): unknown, not expired.
    expect(mysqlPasswordAging({ ...user }, mariaPrivOf({ account_locked: null, password_last_changed: null, password_lifetime: null }), null)).toEqual({ changedAt: null, expiresAt: null, expired: false, lifetimeDays: null });
  });

  it('normalizeMysql carries the dates; the expired flag only when set (older rows stay equal)', () => {
    const a = normalizeMysql({ ...user }, [], false, { changedAt: new Date('2020-01-01Z'), expiresAt: null, expired: false, lifetimeDays: 0 });
    expect(a.passwordChangedAt).toEqual(new Date('2020-01-01Z'));
    expect(a.passwordExpiresAt).toBeNull();
    expect(a.lastLoginAt).toBeUndefined();
    expect(a.typeSpecific).not.toHaveProperty('password_expired');
    expect(normalizeMysql({ ...user }, [], false, { changedAt: null, expiresAt: null, expired: true, lifetimeDays: null }).typeSpecific.password_expired).toBe(true);
  });
});

describe('SQL Server: LOGINPROPERTY PasswordLastSetTime and IsExpired (SQL logins); no last login', () => {
  it('maps SQL logins and leaves Windows logins unknown', () => {
    const login = { principal_id: 2, is_disabled: false, default_database_name: 'master', default_language_name: 'us_english', is_expiration_checked: true, is_policy_checked: true };
    const [sql, win, expired] = normalizeSqlServer({
      logins: [
        { ...login, name: 'app', type_desc: 'SQL_LOGIN', password_last_set_time: new Date('2025-03-04T05:06:07.123Z'), is_expired: 0 },
        { ...login, name: 'CORP\\bob', type_desc: 'WINDOWS_LOGIN', is_expiration_checked: null, is_policy_checked: null, password_last_set_time: null, is_expired: null },
        { ...login, name: 'old', type_desc: 'SQL_LOGIN', password_last_set_time: new Date('2019-01-01Z'), is_expired: 1 },
      ],
      serverRoles: [],
      serverPermissions: [],
      dbRoles: [],
      dbPermissions: [],
      databases: [],
    });
    expect(sql).toMatchObject({ passwordChangedAt: new Date('2025-03-04T05:06:07.123Z') });
    expect(sql!.typeSpecific).not.toHaveProperty('password_expired');
    expect(sql!.lastLoginAt).toBeUndefined();
    expect(win!.passwordChangedAt).toBeNull();
    expect(expired!.typeSpecific.password_expired).toBe(true);
  });
});

describe('Oracle: DBA_USERS LAST_LOGIN (12c+), EXPIRY_DATE, LOCK_DATE, PASSWORD_CHANGE_DATE (when present)', () => {
  it('selects the optional columns the release has, NULL for the others', () => {
    expect(oracleUserColumns(['USERNAME', 'LAST_LOGIN', 'LOCK_DATE'])).toBe(
      'username, user_id, account_status, created, expiry_date, default_tablespace, temporary_tablespace, profile, last_login, NULL AS password_change_date, lock_date',
    );
    expect(oracleUserColumns([])).toContain('NULL AS last_login, NULL AS password_change_date, NULL AS lock_date');
  });

  it('maps the dates; LAST_LOGIN never goes into type_specific (it moves with every login)', () => {
    const base = { USER_ID: 100, CREATED: new Date('2015-01-01Z'), DEFAULT_TABLESPACE: 'USERS', TEMPORARY_TABLESPACE: 'TEMP', PROFILE: 'DEFAULT' };
    const [app, gone, grace, old11g] = normalizeOracle({
      users: [
        { ...base, USERNAME: 'APP', ACCOUNT_STATUS: 'OPEN', EXPIRY_DATE: new Date('2027-01-01Z'), LAST_LOGIN: new Date('2026-11-30T08:00:00Z'), PASSWORD_CHANGE_DATE: new Date('2026-07-01Z'), LOCK_DATE: null },
        { ...base, USERNAME: 'GONE', ACCOUNT_STATUS: 'EXPIRED & LOCKED', EXPIRY_DATE: new Date('2020-01-01Z'), LAST_LOGIN: null, PASSWORD_CHANGE_DATE: null, LOCK_DATE: new Date('2020-02-01Z') },
        { ...base, USERNAME: 'GRACE', ACCOUNT_STATUS: 'EXPIRED(GRACE)', EXPIRY_DATE: new Date('2026-12-05Z'), LAST_LOGIN: null, PASSWORD_CHANGE_DATE: null, LOCK_DATE: null },
        { ...base, USERNAME: 'OLD', ACCOUNT_STATUS: 'OPEN', EXPIRY_DATE: null },
      ],
      roles: [],
      sysPrivs: [],
      quotas: [],
    });
    expect(app).toMatchObject({ lastLoginAt: new Date('2026-11-30T08:00:00Z'), passwordChangedAt: new Date('2026-07-01Z'), passwordExpiresAt: new Date('2027-01-01Z') });
    expect(JSON.stringify(app!.typeSpecific)).not.toMatch(/login/i);
    expect(app!.typeSpecific).not.toHaveProperty('lock_date');
    expect(gone).toMatchObject({ isLocked: true, lastLoginAt: null, passwordExpiresAt: new Date('2020-01-01Z'), typeSpecific: { lock_date: '2020-02-01T00:00:00.000Z', password_expired: true } });
    expect(grace!.typeSpecific).not.toHaveProperty('password_expired');
    expect(old11g).toMatchObject({ lastLoginAt: null, passwordChangedAt: null, passwordExpiresAt: null });
  });
});
