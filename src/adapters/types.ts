/**
 * The contract between the platform and one managed database engine. One module per engine
 * implements it (postgres.ts, mysql.ts, sqlserver.ts, oracle.ts); registry.ts maps db type → adapter
 * so no other code switches on the engine. Adapters never touch the platform's own database.
 */

import type { CollectorRight } from './rights.js';

export const DB_TYPES = ['postgresql', 'mysql', 'sqlserver', 'oracle'] as const;
export type DbType = (typeof DB_TYPES)[number];

/** Everything needed to open one connection; the password is already decrypted, in memory only. */
export interface ConnInfo {
  dbType: DbType;
  host: string;
  port: number;
  username: string;
  password: string;
  /** Database to connect to (Oracle: service name or SID; see options.oracleConnectAs). */
  database?: string | null;
  options?: ConnectionOptions;
}

export interface ConnectionOptions {
  /** Use TLS (PostgreSQL sslmode=require, MySQL ssl, SQL Server encrypt). Default false. */
  tls?: boolean;
  /** Verify the server certificate when tls is on. Default false (self-signed servers are common). */
  tlsRejectUnauthorized?: boolean;
  /** Oracle: connect with a service name (default) or a SID. */
  oracleConnectAs?: 'service' | 'sid';
  /** SQL Server named instance (e.g. SQLEXPRESS). */
  sqlserverInstanceName?: string;
  /** Connect timeout in ms (default DEFAULT_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export interface ServerVersion {
  /** Raw version banner, e.g. "PostgreSQL 15.19 (Debian 15.19-0+deb12u1) on x86_64…". */
  raw: string;
  /** e.g. "15.19" (SPEC §3.5 main_version: first two components). */
  main: string;
  /** e.g. "15.19" or "10.11.19" (SPEC §3.5 detailed_version). */
  detailed: string;
  /** Display form: main if equal to detailed, else "main (detailed)". */
  display: string;
}

/** Why a connection failed, in terms a DBA can act on. */
export type ConnectionFailureKind =
  | 'refused'
  | 'timeout'
  | 'auth_failed'
  | 'unknown_database'
  | 'tls_required'
  | 'tls_unavailable'
  | 'host_not_found'
  /** The server went away in the middle of the work (restart, crash, network cut). */
  | 'connection_lost'
  | 'other';

export class ConnectionFailure extends Error {
  constructor(
    readonly kind: ConnectionFailureKind,
    message: string,
  ) {
    super(message);
  }
}

/** Configurable account filters of SPEC §3.4 (database_filters). */
export interface AccountFilter {
  excludeUsers: string[];
  /** SQL LIKE patterns. */
  excludePatterns: string[];
}

/**
 * One account as read from an engine, already normalised to the unified model of SPEC §2.5.
 * Only the privilege fields of the account's engine are set.
 */
export interface UnifiedAccount {
  /** Identity on the instance: MySQL "user@host", otherwise the login/role/user name. */
  username: string;
  host?: string | null;
  isSuperuser: boolean;
  isActive: boolean;
  isLocked: boolean;
  globalPrivileges?: string[];
  databasePrivileges?: Record<string, string[]>;
  predefinedRoles?: string[];
  roleAttributes?: Record<string, unknown>;
  databasePrivilegesPg?: Record<string, string[]>;
  tablespacePrivileges?: Record<string, string[]>;
  serverRoles?: string[];
  serverPermissions?: string[];
  databaseRoles?: Record<string, string[]>;
  databasePermissions?: Record<string, string[]>;
  oracleRoles?: string[];
  systemPrivileges?: string[];
  tablespacePrivilegesOracle?: Record<string, string[]>;
  typeSpecific: Record<string, unknown>;
  /**
   * Staleness, where the engine reports it (null or absent: it does not). lastLoginAt moves with
   * every login, so change detection never compares it; the password dates are refreshed quietly
   * too (the engines that report them mirror them in typeSpecific, which is compared).
   */
  lastLoginAt?: Date | null;
  passwordChangedAt?: Date | null;
  passwordExpiresAt?: Date | null;
}

/** What a connection test learns: the version and every catalog right the collector needs (rights.ts). */
export interface ConnectionCheck {
  version: ServerVersion;
  rights: CollectorRight[];
}

export interface DbAdapter {
  readonly dbType: DbType;
  /** Opens a connection, reads the version, checks the collector's catalog rights, closes. Throws ConnectionFailure. */
  testConnection(conn: ConnInfo): Promise<ConnectionCheck>;
  /**
   * Checks the collector's catalog rights first, then reads every account (filters applied in SQL)
   * with its privileges. Throws ConnectionFailure, or MissingRightsError (before reading any
   * account) when a required right is missing, so a sync never sees a silently shortened list.
   * An adapter that reads accounts in parts may hand each part to `onAccounts` as soon as it is
   * complete (the sync writes it while the rest is read); if it calls it at all, every account it
   * returns goes through it, once, before the promise resolves.
   */
  fetchAccounts(
    conn: ConnInfo,
    filter: AccountFilter,
    onAccounts?: (part: UnifiedAccount[]) => void,
  ): Promise<{ version: ServerVersion; accounts: UnifiedAccount[]; rights: CollectorRight[] }>;
}
