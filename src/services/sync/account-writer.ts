/**
 * Writes one instance's fresh account snapshot against the stored one, in ONE transaction: inserts
 * new accounts, revives soft-deleted ones that reappear, updates changed ones, soft-deletes vanished
 * ones, and appends a change-log row for each. Every changed account also gets a new row in
 * account_versions (a copy of its new state, valid from the change time) and its previous version is
 * closed, so point-in-time queries never fold the change log. Unchanged accounts cause no write at
 * all, so a no-change re-sync writes nothing. A failure rolls everything back: the previous state stays.
 *
 * The statements run on a plain pg client, each kind as one INSERT/UPDATE per chunk fed by a JSON
 * document (jsonb_to_recordset) whose CTEs also write the change log and the versions: through the
 * ORM, the query compiler re-read every multi-megabyte JSON parameter, and the versions were a second
 * pass over the rows just written (bench/sync).
 */
import type pg from 'pg';
import type { UnifiedAccount } from '../../adapters/types.js';
import type { AccountDiff } from '../accounts/change-detection.js';
import { planSnapshot, type SnapshotCounts, type StoredRow } from './snapshot-plan.js';

export type { SnapshotCounts } from './snapshot-plan.js';

/** Rows per statement (one JSON parameter each). */
const CHUNK = 2000;

const DATE_COLUMNS = ['last_login_at', 'password_changed_at', 'password_expires_at'];

const JSON_COLUMNS = [
  'global_privileges', 'database_privileges', 'predefined_roles', 'role_attributes', 'database_privileges_pg', 'tablespace_privileges', 'server_roles',
  'server_permissions', 'database_roles', 'database_permissions', 'oracle_roles', 'system_privileges', 'tablespace_privileges_oracle', 'type_specific',
];

/** The snapshot's columns of an account row, in the order of the record below. */
const STATE_COLUMNS = ['host', 'is_superuser', 'is_active', 'is_locked', ...JSON_COLUMNS, ...DATE_COLUMNS];

const camel = (c: string) => c.replace(/_(\w)/g, (_m, ch: string) => ch.toUpperCase());

/** One document row: an account's unified columns (snake_case) and its change-log entry. Absent
 * fields are left out of the JSON and read back as NULL. */
function recordOf(a: UnifiedAccount, diff: AccountDiff, message: string, extra?: { id: number; change_type: string }) {
  return {
    ...extra,
    username: a.username,
    host: a.host ?? null,
    is_superuser: a.isSuperuser,
    is_active: a.isActive,
    is_locked: a.isLocked,
    global_privileges: a.globalPrivileges,
    database_privileges: a.databasePrivileges,
    predefined_roles: a.predefinedRoles,
    role_attributes: a.roleAttributes,
    database_privileges_pg: a.databasePrivilegesPg,
    tablespace_privileges: a.tablespacePrivileges,
    server_roles: a.serverRoles,
    server_permissions: a.serverPermissions,
    database_roles: a.databaseRoles,
    database_permissions: a.databasePermissions,
    oracle_roles: a.oracleRoles,
    system_privileges: a.systemPrivileges,
    tablespace_privileges_oracle: a.tablespacePrivilegesOracle,
    type_specific: a.typeSpecific ?? {},
    last_login_at: a.lastLoginAt ?? null,
    password_changed_at: a.passwordChangedAt ?? null,
    password_expires_at: a.passwordExpiresAt ?? null,
    message,
    privilege_diff: diff.privilege,
    other_diff: diff.other,
  };
}

/** The document's columns; a JSON null inside it stores as SQL NULL. */
const RECORD = `jsonb_to_recordset($1::jsonb) AS r(id int, change_type text, username text, host text, is_superuser boolean, is_active boolean,
  is_locked boolean, ${JSON_COLUMNS.map((c) => `${c} jsonb`).join(', ')}, ${DATE_COLUMNS.map((c) => `${c} timestamptz`).join(', ')},
  message text, privilege_diff jsonb, other_diff jsonb)`;
const stateValue = (c: string) => (JSON_COLUMNS.includes(c) ? `NULLIF(r.${c}, 'null'::jsonb)` : `r.${c}`);

const VERSION_COLUMNS = ['username', 'host', 'is_superuser', 'is_active', 'is_locked', 'is_deleted', ...JSON_COLUMNS];

/** The new state of the accounts a CTE named `source` returned (every column of the row), valid from $now. */
const openVersions = (source: string, now: string) => `
INSERT INTO account_versions (account_id, instance_id, db_type, valid_from, change_type, ${VERSION_COLUMNS.join(', ')})
SELECT id, instance_id, db_type, ${now}, last_change_type, ${VERSION_COLUMNS.join(', ')} FROM ${source} ORDER BY id`;

/** Their change-log rows; `r` is the document row of each (joined by `on`). */
const logChanges = (source: string, on: string, changeType: string, now: string, sessionId: string) => `
INSERT INTO account_change_log (instance_id, account_id, db_type, username, change_type, change_time, session_id, message, privilege_diff, other_diff)
SELECT ${source}.instance_id, ${source}.id, ${source}.db_type, ${source}.username, ${changeType}, ${now}, ${sessionId}, r.message, r.privilege_diff, r.other_diff
  FROM ${source} JOIN r ON ${on} ORDER BY ${source}.id`;

/** The stored snapshot of one instance, only the columns change detection compares. */
const SELECT_STORED_SQL = `
SELECT id, username, is_deleted AS "isDeleted", is_superuser AS "isSuperuser", is_active AS "isActive", is_locked AS "isLocked", host,
       ${[...JSON_COLUMNS, ...DATE_COLUMNS].map((c) => `${c} AS "${camel(c)}"`).join(', ')}
  FROM current_account_sync_data WHERE instance_id = $1 AND db_type = $2`;

/** $1 document of new accounts, $2 instance id, $3 db type, $4 session id, $5 now. */
const INSERT_ADDED_SQL = `
WITH r AS (SELECT * FROM ${RECORD}),
ins AS (
  INSERT INTO current_account_sync_data (instance_id, db_type, session_id, last_change_type, last_change_time, last_sync_time, sync_time, username, ${STATE_COLUMNS.join(', ')})
  SELECT $2::int, $3::text, $4::text, 'add', $5::timestamptz, $5::timestamptz, $5::timestamptz, r.username, ${STATE_COLUMNS.map(stateValue).join(', ')} FROM r
  RETURNING *),
log AS (${logChanges('ins', 'r.username = ins.username', "'add'", '$5::timestamptz', '$4::text')})
${openVersions('ins', '$5::timestamptz')}`;

/** $1 document of modified and restored accounts (with id and change_type), $2–$5 as above. A
 * restored account is undeleted; their open versions end where the new ones start. */
const UPDATE_CHANGED_SQL = `
WITH r AS (SELECT * FROM ${RECORD}),
upd AS (
  UPDATE current_account_sync_data a
     SET ${STATE_COLUMNS.map((c) => `${c} = ${stateValue(c)}`).join(', ')},
         is_deleted = false, deleted_time = CASE WHEN r.change_type = 'restore' THEN NULL ELSE a.deleted_time END,
         last_change_type = r.change_type, last_change_time = $5::timestamptz, last_sync_time = $5::timestamptz, session_id = $4::text
    FROM r WHERE a.id = r.id AND a.instance_id = $2::int AND a.db_type = $3::text
  RETURNING a.*),
closed AS (UPDATE account_versions v SET valid_to = $5::timestamptz FROM upd WHERE v.account_id = upd.id AND v.valid_to IS NULL),
log AS (${logChanges('upd', 'r.id = upd.id', 'r.change_type', '$5::timestamptz', '$4::text')})
${openVersions('upd', '$5::timestamptz')}`;

/** $1 ids of vanished accounts, $2 session id, $3 now. A deleted account holds no classification
 * (history stays in the inactive rows); the dashboard counts active assignments without visiting
 * accounts because of this. */
const DELETE_VANISHED_SQL = `
WITH del AS (
  UPDATE current_account_sync_data SET is_deleted = true, deleted_time = $3::timestamptz, last_change_type = 'delete', last_change_time = $3::timestamptz, session_id = $2::text
   WHERE id = ANY($1::int[])
  RETURNING *),
unassigned AS (UPDATE account_classification_assignments SET is_active = false, updated_at = $3::timestamptz WHERE account_id = ANY($1::int[]) AND is_active),
closed AS (UPDATE account_versions SET valid_to = $3::timestamptz WHERE account_id = ANY($1::int[]) AND valid_to IS NULL),
r AS (SELECT '账户已删除' AS message, '{}'::jsonb AS privilege_diff, '{}'::jsonb AS other_diff),
log AS (${logChanges('del', 'true', "'delete'", '$3::timestamptz', '$2::text')})
${openVersions('del', '$3::timestamptz')}`;

/** $1 JSON array of {id, last_login_at, password_changed_at, password_expires_at}: staleness only, no change. */
const UPDATE_DATES_SQL = `
UPDATE current_account_sync_data a
   SET ${DATE_COLUMNS.map((c) => `${c} = r.${c}`).join(', ')}
  FROM jsonb_to_recordset($1::jsonb) AS r(id int, ${DATE_COLUMNS.map((c) => `${c} timestamptz`).join(', ')})
 WHERE a.id = r.id`;

/** History of an instance starts with the first snapshot that wrote anything. */
const HISTORY_SINCE_SQL = `UPDATE instances SET history_since = $2::timestamptz WHERE id = $1 AND history_since IS NULL`;

function chunks<T>(list: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += CHUNK) out.push(list.slice(i, i + CHUNK));
  return out;
}

export async function applySnapshot(
  pool: pg.Pool,
  instance: { id: number; dbType: string },
  accounts: UnifiedAccount[],
  sessionId: string,
  now = new Date(),
): Promise<SnapshotCounts> {
  const client = await pool.connect();
  let counts: SnapshotCounts;
  try {
    await client.query('BEGIN');
    const { rows: stored } = await client.query<StoredRow>(SELECT_STORED_SQL, [instance.id, instance.dbType]);
    const plan = planSnapshot(stored, accounts);
    const args = [instance.id, instance.dbType, sessionId, now];

    for (const chunk of chunks(plan.updated)) {
      const doc = chunk.map((u) => recordOf(u.account, u.diff, u.message, { id: u.id, change_type: u.changeType }));
      await client.query(UPDATE_CHANGED_SQL, [JSON.stringify(doc), ...args]);
    }
    for (const chunk of chunks(plan.dateUpdates)) {
      const doc = chunk.map(({ id, account: a }) => ({
        id,
        last_login_at: a.lastLoginAt ?? null,
        password_changed_at: a.passwordChangedAt ?? null,
        password_expires_at: a.passwordExpiresAt ?? null,
      }));
      await client.query(UPDATE_DATES_SQL, [JSON.stringify(doc)]);
    }
    if (plan.vanished.length) await client.query(DELETE_VANISHED_SQL, [plan.vanished, sessionId, now]);
    for (const chunk of chunks(plan.added)) {
      await client.query(INSERT_ADDED_SQL, [JSON.stringify(chunk.map((c) => recordOf(c.account, c.diff, c.message))), ...args]);
    }
    if (plan.added.length || plan.updated.length || plan.vanished.length) await client.query(HISTORY_SINCE_SQL, [instance.id, now]);
    await client.query('COMMIT');
    counts = plan.counts;
  } catch (err) {
    // A client whose ROLLBACK fails has lost its connection: it must not go back to the pool.
    const broken = await client.query('ROLLBACK').then(() => false, () => true);
    client.release(broken);
    throw err;
  }
  client.release();
  return counts;
}
