/**
 * Writes one instance's fresh account snapshot against the stored one, in ONE transaction: inserts
 * new accounts, revives soft-deleted ones that reappear, updates changed ones, soft-deletes vanished
 * ones, and appends a change-log row for each. Every changed account also gets a new row in
 * account_versions (a copy of its new state, valid from the change time) and its previous version is
 * closed, so point-in-time queries never fold the change log. Unchanged accounts cause no write at
 * all, so a no-change re-sync writes nothing. A failure rolls everything back: the previous state stays.
 */
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';
import type { UnifiedAccount } from '../../adapters/types.js';
import {
  changeTypeOf,
  describeDiff,
  diffAccount,
  diffFromNothing,
  isEmptyDiff,
  staleDatesChanged,
  type AccountDiff,
  type ChangeType,
  type StalenessDates,
  type StoredAccount,
} from '../accounts/change-detection.js';

export interface SnapshotCounts {
  found: number;
  added: number;
  modified: number;
  removed: number;
  restored: number;
  unchanged: number;
}

/** Column values of an account row from the unified snapshot (JSON columns null when not set). */
function columnsOf(a: UnifiedAccount) {
  const json = (v: unknown) => (v === undefined || v === null ? undefined : (v as Prisma.InputJsonValue));
  return {
    host: a.host ?? null,
    isSuperuser: a.isSuperuser,
    isActive: a.isActive,
    isLocked: a.isLocked,
    globalPrivileges: json(a.globalPrivileges),
    databasePrivileges: json(a.databasePrivileges),
    predefinedRoles: json(a.predefinedRoles),
    roleAttributes: json(a.roleAttributes),
    databasePrivilegesPg: json(a.databasePrivilegesPg),
    tablespacePrivileges: json(a.tablespacePrivileges),
    serverRoles: json(a.serverRoles),
    serverPermissions: json(a.serverPermissions),
    databaseRoles: json(a.databaseRoles),
    databasePermissions: json(a.databasePermissions),
    oracleRoles: json(a.oracleRoles),
    systemPrivileges: json(a.systemPrivileges),
    tablespacePrivilegesOracle: json(a.tablespacePrivilegesOracle),
    typeSpecific: json(a.typeSpecific) ?? {},
    lastLoginAt: a.lastLoginAt ?? null,
    passwordChangedAt: a.passwordChangedAt ?? null,
    passwordExpiresAt: a.passwordExpiresAt ?? null,
  };
}

interface LogRow {
  accountId: number | null;
  username: string;
  changeType: ChangeType;
  diff: AccountDiff;
}

/** Rows per INSERT statement (one JSON parameter each). */
const INSERT_CHUNK = 2000;

/** The unified columns as snake_case JSON for jsonb_to_recordset; absent privilege fields are null. */
function accountRecord(username: string, a: UnifiedAccount) {
  return {
    username,
    host: a.host ?? null,
    is_superuser: a.isSuperuser,
    is_active: a.isActive,
    is_locked: a.isLocked,
    global_privileges: a.globalPrivileges ?? null,
    database_privileges: a.databasePrivileges ?? null,
    predefined_roles: a.predefinedRoles ?? null,
    role_attributes: a.roleAttributes ?? null,
    database_privileges_pg: a.databasePrivilegesPg ?? null,
    tablespace_privileges: a.tablespacePrivileges ?? null,
    server_roles: a.serverRoles ?? null,
    server_permissions: a.serverPermissions ?? null,
    database_roles: a.databaseRoles ?? null,
    database_permissions: a.databasePermissions ?? null,
    oracle_roles: a.oracleRoles ?? null,
    system_privileges: a.systemPrivileges ?? null,
    tablespace_privileges_oracle: a.tablespacePrivilegesOracle ?? null,
    type_specific: a.typeSpecific ?? {},
    last_login_at: a.lastLoginAt ?? null,
    password_changed_at: a.passwordChangedAt ?? null,
    password_expires_at: a.passwordExpiresAt ?? null,
  };
}

const DATE_COLUMNS = ['last_login_at', 'password_changed_at', 'password_expires_at'];

const JSON_COLUMNS = [
  'global_privileges', 'database_privileges', 'predefined_roles', 'role_attributes', 'database_privileges_pg', 'tablespace_privileges', 'server_roles',
  'server_permissions', 'database_roles', 'database_permissions', 'oracle_roles', 'system_privileges', 'tablespace_privileges_oracle', 'type_specific',
];

const camel = (c: string) => c.replace(/_(\w)/g, (_m, ch: string) => ch.toUpperCase());

/** The stored snapshot of one instance, only the columns change detection compares (raw: the ORM's
 * row mapping was a third of an unchanged re-sync, bench/sync). */
const SELECT_STORED_SQL = `
SELECT id, username, is_deleted AS "isDeleted", is_superuser AS "isSuperuser", is_active AS "isActive", is_locked AS "isLocked", host,
       ${[...JSON_COLUMNS, ...DATE_COLUMNS].map((c) => `${c} AS "${camel(c)}"`).join(', ')}
  FROM current_account_sync_data WHERE instance_id = $1 AND db_type = $2`;

/** $1 JSON array of accountRecord(), $2 instance id, $3 db type, $4 session id, $5 now. */
const INSERT_ACCOUNTS_SQL = `
INSERT INTO current_account_sync_data (instance_id, db_type, session_id, last_change_type, last_change_time, last_sync_time, sync_time,
                                       username, host, is_superuser, is_active, is_locked, ${[...JSON_COLUMNS, ...DATE_COLUMNS].join(', ')})
SELECT $2::int, $3::text, $4::text, 'add', $5::timestamptz, $5::timestamptz, $5::timestamptz,
       r.username, r.host, r.is_superuser, r.is_active, r.is_locked, ${JSON_COLUMNS.map((c) => `NULLIF(r.${c}, 'null'::jsonb)`).join(', ')},
       ${DATE_COLUMNS.map((c) => `r.${c}`).join(', ')}
  FROM jsonb_to_recordset($1::jsonb) AS r(username text, host text, is_superuser boolean, is_active boolean, is_locked boolean,
                                          ${JSON_COLUMNS.map((c) => `${c} jsonb`).join(', ')}, ${DATE_COLUMNS.map((c) => `${c} timestamptz`).join(', ')})
RETURNING id, username`;

/** $1 JSON array of {id, last_login_at, password_changed_at, password_expires_at}: staleness only, no change. */
const UPDATE_DATES_SQL = `
UPDATE current_account_sync_data a
   SET ${DATE_COLUMNS.map((c) => `${c} = r.${c}`).join(', ')}
  FROM jsonb_to_recordset($1::jsonb) AS r(id int, ${DATE_COLUMNS.map((c) => `${c} timestamptz`).join(', ')})
 WHERE a.id = r.id`;

/** $1 JSON array of change records, $2 instance id, $3 db type, $4 session id, $5 change time. */
const INSERT_CHANGES_SQL = `
INSERT INTO account_change_log (instance_id, account_id, db_type, username, change_type, change_time, session_id, message, privilege_diff, other_diff)
SELECT $2::int, r.account_id, $3::text, r.username, r.change_type, $5::timestamptz, $4::text, r.message, r.privilege_diff, r.other_diff
  FROM jsonb_to_recordset($1::jsonb) AS r(account_id int, username text, change_type text, message text, privilege_diff jsonb, other_diff jsonb)`;

const VERSION_COLUMNS = ['username', 'host', 'is_superuser', 'is_active', 'is_locked', 'is_deleted', ...JSON_COLUMNS];

/** $1 ids of existing accounts whose state changed, $2 change time: their open versions end. */
const CLOSE_VERSIONS_SQL = `UPDATE account_versions SET valid_to = $2::timestamptz WHERE account_id = ANY($1::int[]) AND valid_to IS NULL`;

/** $1 ids of every account written by this snapshot, $2 change time: their new state, copied from the row just written. */
const OPEN_VERSIONS_SQL = `
INSERT INTO account_versions (account_id, instance_id, db_type, valid_from, change_type, ${VERSION_COLUMNS.join(', ')})
SELECT id, instance_id, db_type, $2::timestamptz, last_change_type, ${VERSION_COLUMNS.join(', ')}
  FROM current_account_sync_data WHERE id = ANY($1::int[])`;

/** History of an instance starts with the first snapshot that wrote anything. */
const HISTORY_SINCE_SQL = `UPDATE instances SET history_since = $2::timestamptz WHERE id = $1 AND history_since IS NULL`;

export async function applySnapshot(
  prisma: PrismaClient,
  instance: { id: number; dbType: string },
  accounts: UnifiedAccount[],
  sessionId: string,
  now = new Date(),
): Promise<SnapshotCounts> {
  const counts: SnapshotCounts = { found: accounts.length, added: 0, modified: 0, removed: 0, restored: 0, unchanged: 0 };
  const fresh = new Map<string, UnifiedAccount>();
  for (const a of accounts) fresh.set(a.username, a); // engines never report duplicates; last wins if one did

  await prisma.$transaction(
    async (tx) => {
      const stored = await tx.$queryRawUnsafe<Array<StoredAccount & StalenessDates & { id: number; username: string; isDeleted: boolean }>>(SELECT_STORED_SQL, instance.id, instance.dbType);
      const byName = new Map(stored.map((s) => [s.username, s]));
      const logs: LogRow[] = [];
      const inserts: Array<{ username: string; a: UnifiedAccount }> = [];
      /** Unchanged accounts whose login/password dates moved: those columns only, in one statement. */
      const dateUpdates: Array<{ id: number; a: UnifiedAccount }> = [];

      for (const [username, a] of fresh) {
        const row = byName.get(username);
        if (!row) {
          inserts.push({ username, a });
          continue;
        }
        const diff = diffAccount(row as unknown as StoredAccount, a);
        if (row.isDeleted) {
          await tx.currentAccount.update({
            where: { id: row.id },
            data: { ...columnsOf(a), isDeleted: false, deletedTime: null, lastChangeType: 'restore', lastChangeTime: now, lastSyncTime: now, sessionId },
          });
          logs.push({ accountId: row.id, username, changeType: 'restore', diff });
          counts.restored++;
        } else if (!isEmptyDiff(diff)) {
          const changeType = changeTypeOf(diff);
          await tx.currentAccount.update({
            where: { id: row.id },
            data: { ...columnsOf(a), lastChangeType: changeType, lastChangeTime: now, lastSyncTime: now, sessionId },
          });
          logs.push({ accountId: row.id, username, changeType, diff });
          counts.modified++;
        } else {
          if (staleDatesChanged(row, a)) dateUpdates.push({ id: row.id, a });
          counts.unchanged++;
        }
      }
      for (let i = 0; i < dateUpdates.length; i += INSERT_CHUNK) {
        const records = dateUpdates.slice(i, i + INSERT_CHUNK).map(({ id, a }) => ({
          id,
          last_login_at: a.lastLoginAt ?? null,
          password_changed_at: a.passwordChangedAt ?? null,
          password_expires_at: a.passwordExpiresAt ?? null,
        }));
        await tx.$executeRawUnsafe(UPDATE_DATES_SQL, JSON.stringify(records));
      }

      // An empty snapshot more likely means the collector lost its rights than that every account
      // was dropped (SPEC §3.4 step 5): never mark everything deleted because of it.
      if (fresh.size > 0) {
        const vanished = stored.filter((s) => !s.isDeleted && !fresh.has(s.username));
        if (vanished.length) {
          await tx.currentAccount.updateMany({
            where: { id: { in: vanished.map((v) => v.id) } },
            data: { isDeleted: true, deletedTime: now, lastChangeType: 'delete', lastChangeTime: now, sessionId },
          });
          // A deleted account holds no classification (history stays in the inactive rows); the
          // dashboard counts active assignments without visiting accounts because of this.
          await tx.accountClassificationAssignment.updateMany({ where: { accountId: { in: vanished.map((v) => v.id) }, isActive: true }, data: { isActive: false } });
          for (const v of vanished) logs.push({ accountId: v.id, username: v.username, changeType: 'delete', diff: { privilege: {}, other: {} } });
          counts.removed = vanished.length;
        }
      }

      // New accounts and the change log go in as one JSON document per chunk (jsonb_to_recordset):
      // through the ORM, building ~20 bound columns per row made a first sync of 10,000 accounts take
      // ~10 s (bench/sync).
      for (let i = 0; i < inserts.length; i += INSERT_CHUNK) {
        const chunk = inserts.slice(i, i + INSERT_CHUNK);
        const created = await tx.$queryRawUnsafe<Array<{ id: number; username: string }>>(
          INSERT_ACCOUNTS_SQL,
          JSON.stringify(chunk.map(({ username, a }) => accountRecord(username, a))),
          instance.id,
          instance.dbType,
          sessionId,
          now,
        );
        const ids = new Map(created.map((c) => [c.username, c.id]));
        for (const { username, a } of chunk) logs.push({ accountId: ids.get(username) ?? null, username, changeType: 'add', diff: diffFromNothing(a) });
        counts.added += chunk.length;
      }

      for (let i = 0; i < logs.length; i += INSERT_CHUNK) {
        const records = logs.slice(i, i + INSERT_CHUNK).map((l) => ({
          account_id: l.accountId,
          username: l.username,
          change_type: l.changeType,
          message: l.changeType === 'add' ? '新增账户' : l.changeType === 'delete' ? '账户已删除' : l.changeType === 'restore' ? `账户已恢复; ${describeDiff(l.diff)}` : describeDiff(l.diff),
          privilege_diff: l.diff.privilege,
          other_diff: l.diff.other,
        }));
        await tx.$executeRawUnsafe(INSERT_CHANGES_SQL, JSON.stringify(records), instance.id, instance.dbType, sessionId, now);
      }

      // Versions: every account that got a change-log row now has a new state (add, modify, delete,
      // restore); the previous version of an existing one ends at the same instant.
      if (logs.length) {
        const changed = logs.map((l) => l.accountId).filter((x): x is number => x !== null);
        const existing = logs.filter((l) => l.changeType !== 'add' && l.accountId !== null).map((l) => l.accountId as number);
        if (existing.length) await tx.$executeRawUnsafe(CLOSE_VERSIONS_SQL, existing, now);
        await tx.$executeRawUnsafe(OPEN_VERSIONS_SQL, changed, now);
        await tx.$executeRawUnsafe(HISTORY_SINCE_SQL, instance.id, now);
      }
    },
    { timeout: 120_000, maxWait: 30_000 },
  );
  return counts;
}
