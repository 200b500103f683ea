/**
 * What a classification rule may talk about, per database type: the fields of the unified account
 * model (SPEC §2.5) and the privileges, roles and attributes each field can hold. Rules are validated
 * against it on save, and it is served to clients (GET /account-classification/permissions/{db_type}).
 *
 * Roles are open-ended (every engine has user-defined roles): a role field accepts any name that
 * looks like one; privilege and attribute fields accept only the names listed here.
 */
import type { DbType } from '../../adapters/types.js';

export type FieldKind =
  /** A list of names (e.g. MySQL global privileges). */
  | 'list'
  /** Per database / tablespace lists of names: "has X" means in any of them. */
  | 'map'
  /** Named boolean attributes (PostgreSQL role attributes): "has X" means attribute X is true. */
  | 'flags'
  | 'boolean'
  | 'string'
  /** A moment (stored timestamptz or ISO string), possibly unknown: compared by age in days. */
  | 'date';

export interface FieldSpec {
  /** Name used in rule expressions (snake_case, as in SPEC's rule format). */
  name: string;
  kind: FieldKind;
  /** Column of current_account_sync_data that holds it. */
  column: string;
  /** Key inside that (JSON) column, when the field is nested. */
  key?: string;
  description: string;
  /** Known values; undefined for open-ended fields. */
  values?: readonly string[];
  /** Open-ended names (roles) are checked against this pattern instead. */
  open?: boolean;
  /**
   * Derived boolean facts: computed from other columns and the evaluation time (e.g. password_expired
   * from password_expires_at and the engine's own expired flag) instead of read from `column`.
   */
  derive?: 'password_expired';
}

const COMMON: FieldSpec[] = [
  { name: 'is_superuser', kind: 'boolean', column: 'is_superuser', description: '超级用户' },
  { name: 'is_locked', kind: 'boolean', column: 'is_locked', description: '已锁定' },
  { name: 'is_active', kind: 'boolean', column: 'is_active', description: '可登录/启用' },
  { name: 'username', kind: 'string', column: 'username', description: '账户名' },
];

const MYSQL_DB_PRIVILEGES = [
  'ALL PRIVILEGES', 'ALTER', 'ALTER ROUTINE', 'CREATE', 'CREATE ROUTINE', 'CREATE TEMPORARY TABLES', 'CREATE VIEW', 'DELETE', 'DELETE HISTORY',
  'DROP', 'EVENT', 'EXECUTE', 'GRANT OPTION', 'INDEX', 'INSERT', 'LOCK TABLES', 'REFERENCES', 'SELECT', 'SHOW VIEW', 'TRIGGER', 'UPDATE', 'USAGE',
] as const;
const MYSQL_GLOBAL_PRIVILEGES = [
  ...MYSQL_DB_PRIVILEGES,
  'BINLOG ADMIN', 'BINLOG MONITOR', 'BINLOG REPLAY', 'CONNECTION ADMIN', 'CREATE ROLE', 'CREATE TABLESPACE', 'CREATE USER', 'DROP ROLE', 'FEDERATED ADMIN',
  'FILE', 'PROCESS', 'READ_ONLY ADMIN', 'RELOAD', 'REPLICATION CLIENT', 'REPLICATION MASTER ADMIN', 'REPLICATION SLAVE', 'REPLICATION SLAVE ADMIN',
  'REPLICA MONITOR', 'SET USER', 'SHOW DATABASES', 'SHUTDOWN', 'SLAVE MONITOR', 'SUPER',
  // MySQL 8 dynamic privileges
  'APPLICATION_PASSWORD_ADMIN', 'AUDIT_ADMIN', 'BACKUP_ADMIN', 'BINLOG_ADMIN', 'BINLOG_ENCRYPTION_ADMIN', 'CLONE_ADMIN', 'CONNECTION_ADMIN',
  'ENCRYPTION_KEY_ADMIN', 'FLUSH_OPTIMIZER_COSTS', 'FLUSH_STATUS', 'FLUSH_TABLES', 'FLUSH_USER_RESOURCES', 'GROUP_REPLICATION_ADMIN',
  'INNODB_REDO_LOG_ARCHIVE', 'PERSIST_RO_VARIABLES_ADMIN', 'REPLICATION_APPLIER', 'REPLICATION_SLAVE_ADMIN', 'RESOURCE_GROUP_ADMIN',
  'RESOURCE_GROUP_USER', 'ROLE_ADMIN', 'SERVICE_CONNECTION_ADMIN', 'SESSION_VARIABLES_ADMIN', 'SET_USER_ID', 'SHOW_ROUTINE', 'SYSTEM_USER',
  'SYSTEM_VARIABLES_ADMIN', 'TABLE_ENCRYPTION_ADMIN', 'XA_RECOVER_ADMIN',
] as const;

const PG_ROLE_ATTRIBUTES = ['can_super', 'can_create_role', 'can_create_db', 'can_login', 'can_inherit', 'can_replicate', 'can_bypass_rls'] as const;
const PG_PREDEFINED_ROLES = [
  'pg_checkpoint', 'pg_create_subscription', 'pg_database_owner', 'pg_execute_server_program', 'pg_maintain', 'pg_monitor', 'pg_read_all_data',
  'pg_read_all_settings', 'pg_read_all_stats', 'pg_read_server_files', 'pg_signal_backend', 'pg_stat_scan_tables', 'pg_use_reserved_connections',
  'pg_write_all_data', 'pg_write_server_files',
] as const;

const SQLSERVER_SERVER_ROLES = ['sysadmin', 'serveradmin', 'securityadmin', 'processadmin', 'setupadmin', 'bulkadmin', 'diskadmin', 'dbcreator', 'public'] as const;
const SQLSERVER_SERVER_PERMISSIONS = [
  'ADMINISTER BULK OPERATIONS', 'ALTER ANY AVAILABILITY GROUP', 'ALTER ANY CONNECTION', 'ALTER ANY CREDENTIAL', 'ALTER ANY DATABASE', 'ALTER ANY ENDPOINT',
  'ALTER ANY EVENT NOTIFICATION', 'ALTER ANY LINKED SERVER', 'ALTER ANY LOGIN', 'ALTER ANY SERVER AUDIT', 'ALTER ANY SERVER ROLE', 'ALTER RESOURCES',
  'ALTER SERVER STATE', 'ALTER SETTINGS', 'ALTER TRACE', 'AUTHENTICATE SERVER', 'CONNECT ANY DATABASE', 'CONNECT SQL', 'CONTROL SERVER', 'CREATE ANY DATABASE',
  'CREATE AVAILABILITY GROUP', 'CREATE DDL EVENT NOTIFICATION', 'CREATE ENDPOINT', 'CREATE SERVER ROLE', 'EXTERNAL ACCESS ASSEMBLY', 'IMPERSONATE ANY LOGIN',
  'SELECT ALL USER SECURABLES', 'SHUTDOWN', 'UNSAFE ASSEMBLY', 'VIEW ANY DATABASE', 'VIEW ANY DEFINITION', 'VIEW SERVER STATE',
] as const;
const SQLSERVER_DB_PERMISSIONS = [
  'ALTER', 'ALTER ANY ROLE', 'ALTER ANY SCHEMA', 'ALTER ANY USER', 'AUTHENTICATE', 'BACKUP DATABASE', 'BACKUP LOG', 'CONNECT', 'CONTROL', 'CREATE FUNCTION',
  'CREATE PROCEDURE', 'CREATE ROLE', 'CREATE SCHEMA', 'CREATE TABLE', 'CREATE VIEW', 'DELETE', 'EXECUTE', 'IMPERSONATE', 'INSERT', 'REFERENCES', 'SELECT',
  'SHOWPLAN', 'TAKE OWNERSHIP', 'UPDATE', 'VIEW DATABASE STATE', 'VIEW DEFINITION',
] as const;

const ORACLE_SYSTEM_PRIVILEGES = [
  'ADMINISTER DATABASE TRIGGER', 'ALTER ANY PROCEDURE', 'ALTER ANY ROLE', 'ALTER ANY TABLE', 'ALTER DATABASE', 'ALTER PROFILE', 'ALTER SESSION', 'ALTER SYSTEM',
  'ALTER TABLESPACE', 'ALTER USER', 'AUDIT ANY', 'AUDIT SYSTEM', 'BECOME USER', 'CREATE ANY INDEX', 'CREATE ANY PROCEDURE', 'CREATE ANY TABLE', 'CREATE ANY VIEW',
  'CREATE DATABASE LINK', 'CREATE PROCEDURE', 'CREATE PUBLIC DATABASE LINK', 'CREATE PUBLIC SYNONYM', 'CREATE ROLE', 'CREATE SEQUENCE', 'CREATE SESSION',
  'CREATE SYNONYM', 'CREATE TABLE', 'CREATE TABLESPACE', 'CREATE TRIGGER', 'CREATE TYPE', 'CREATE USER', 'CREATE VIEW', 'DELETE ANY TABLE', 'DROP ANY PROCEDURE',
  'DROP ANY ROLE', 'DROP ANY TABLE', 'DROP ANY VIEW', 'DROP PUBLIC DATABASE LINK', 'DROP TABLESPACE', 'DROP USER', 'EXECUTE ANY PROCEDURE', 'EXEMPT ACCESS POLICY',
  'EXP_FULL_DATABASE', 'FLASHBACK ANY TABLE', 'GRANT ANY OBJECT PRIVILEGE', 'GRANT ANY PRIVILEGE', 'GRANT ANY ROLE', 'IMP_FULL_DATABASE', 'INSERT ANY TABLE',
  'LOCK ANY TABLE', 'LOGMINING', 'RESTRICTED SESSION', 'SELECT ANY DICTIONARY', 'SELECT ANY SEQUENCE', 'SELECT ANY TABLE', 'SYSBACKUP', 'SYSDBA', 'SYSOPER',
  'UNLIMITED TABLESPACE', 'UPDATE ANY TABLE',
] as const;

/**
 * Staleness facts (see README "Stale accounts"): only what each engine really exposes. PostgreSQL
 * has no last login and no password change time, MySQL/MariaDB and SQL Server no last login.
 */
const LAST_LOGIN: FieldSpec = { name: 'last_login_at', kind: 'date', column: 'last_login_at', description: '最近登录时间' };
const PASSWORD_CHANGED: FieldSpec = { name: 'password_changed_at', kind: 'date', column: 'password_changed_at', description: '密码最近修改时间' };
const PASSWORD_EXPIRES: FieldSpec = { name: 'password_expires_at', kind: 'date', column: 'password_expires_at', description: '密码过期时间' };
const PASSWORD_EXPIRED: FieldSpec = {
  name: 'password_expired',
  kind: 'boolean',
  column: 'password_expires_at',
  derive: 'password_expired',
  description: '密码已过期 (过期时间已到，或引擎标记为已过期)',
};

export const CATALOGUE: Record<DbType, FieldSpec[]> = {
  mysql: [
    ...COMMON,
    { name: 'host', kind: 'string', column: 'host', description: '允许连接的主机' },
    { name: 'global_privileges', kind: 'list', column: 'global_privileges', description: '全局权限', values: MYSQL_GLOBAL_PRIVILEGES },
    { name: 'database_privileges', kind: 'map', column: 'database_privileges', description: '数据库权限 (任一数据库)', values: MYSQL_DB_PRIVILEGES },
    { name: 'roles', kind: 'list', column: 'type_specific', key: 'roles', description: '授予的角色', values: [], open: true },
    PASSWORD_CHANGED,
    PASSWORD_EXPIRES,
    PASSWORD_EXPIRED,
  ],
  postgresql: [
    ...COMMON,
    { name: 'role_attributes', kind: 'flags', column: 'role_attributes', description: '角色属性', values: PG_ROLE_ATTRIBUTES },
    { name: 'predefined_roles', kind: 'list', column: 'predefined_roles', description: '所属角色 (预定义或自定义)', values: PG_PREDEFINED_ROLES, open: true },
    { name: 'database_privileges', kind: 'map', column: 'database_privileges_pg', description: '数据库权限 (任一数据库)', values: ['CONNECT', 'CREATE', 'TEMPORARY'] },
    { name: 'tablespace_privileges', kind: 'map', column: 'tablespace_privileges', description: '表空间权限', values: ['CREATE'] },
    PASSWORD_EXPIRES,
    PASSWORD_EXPIRED,
  ],
  sqlserver: [
    ...COMMON,
    { name: 'server_roles', kind: 'list', column: 'server_roles', description: '服务器角色', values: SQLSERVER_SERVER_ROLES, open: true },
    { name: 'server_permissions', kind: 'list', column: 'server_permissions', description: '服务器权限', values: SQLSERVER_SERVER_PERMISSIONS },
    { name: 'database_roles', kind: 'map', column: 'database_roles', description: '数据库角色 (任一数据库)', values: ['db_owner', 'db_securityadmin', 'db_accessadmin', 'db_backupoperator', 'db_ddladmin', 'db_datawriter', 'db_datareader', 'db_denydatawriter', 'db_denydatareader', 'public'], open: true },
    { name: 'database_privileges', kind: 'map', column: 'database_permissions', description: '数据库权限 (任一数据库)', values: SQLSERVER_DB_PERMISSIONS },
    PASSWORD_CHANGED,
    PASSWORD_EXPIRED,
  ],
  oracle: [
    ...COMMON,
    { name: 'roles', kind: 'list', column: 'oracle_roles', description: '角色', values: ['DBA', 'CONNECT', 'RESOURCE', 'SELECT_CATALOG_ROLE', 'EXECUTE_CATALOG_ROLE', 'EXP_FULL_DATABASE', 'IMP_FULL_DATABASE', 'DATAPUMP_EXP_FULL_DATABASE', 'DATAPUMP_IMP_FULL_DATABASE', 'AUDIT_ADMIN', 'SCHEDULER_ADMIN'], open: true },
    { name: 'system_privileges', kind: 'list', column: 'system_privileges', description: '系统权限', values: ORACLE_SYSTEM_PRIVILEGES },
    { name: 'tablespace_privileges', kind: 'map', column: 'tablespace_privileges_oracle', description: '表空间配额', values: ['UNLIMITED', 'QUOTA'] },
    LAST_LOGIN,
    PASSWORD_CHANGED,
    PASSWORD_EXPIRES,
    PASSWORD_EXPIRED,
  ],
};

/** Role names: letters, digits and the usual punctuation of the engines, no quotes or wildcards. */
export const ROLE_NAME = /^[\p{L}\p{N}_$#.@ -]{1,128}$/u;

export function fieldOf(dbType: DbType, name: string): FieldSpec | undefined {
  return CATALOGUE[dbType].find((f) => f.name === name);
}

/** Rows for permission_configs (seeded once; the permissions endpoint reads the table). */
export function permissionConfigRows(): Array<{ dbType: string; category: string; permissionName: string; description: string; sortOrder: number }> {
  const rows: Array<{ dbType: string; category: string; permissionName: string; description: string; sortOrder: number }> = [];
  for (const [dbType, fields] of Object.entries(CATALOGUE)) {
    for (const f of fields) {
      (f.values ?? []).forEach((v, i) => rows.push({ dbType, category: f.name, permissionName: v, description: f.description, sortOrder: i }));
    }
  }
  return rows;
}
