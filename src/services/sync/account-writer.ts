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
 *
 * The plan is made chunk by chunk and each chunk's statement is queued as soon as it is ready, so
 * the database writes one chunk while Node plans and serialises the next. Where the connection may
 * (row-trigger-bypass.ts), the change-log and version rows skip their per-row foreign-key checks: the
 * accounts' statement stages them in a temporary table, from which one statement appends them with
 * row triggers off. The guarantee those checks gave is taken set-wise instead: the instance row is
 * locked FOR KEY SHARE (what each check took) at the start, so it cannot go before the commit, and
 * every account a version points to was inserted or updated (so locked) by this transaction. The
 * accounts' own statement always runs with every trigger on (account_figures and the rest).
 */
import type pg from 'pg';
import type { UnifiedAccount } from '../../adapters/types.js';
import type { AccountDiff } from '../accounts/change-detection.js';
import { planSnapshotInSteps, SnapshotPlanner, type PlanStep, type SnapshotCounts, type StoredRow } from './snapshot-plan.js';
import { mayAppendWithoutRowTriggers } from './row-trigger-bypass.js';
import { StatementQueue } from '../../db/statement-queue.js';

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

/**
 * How a statement that wrote accounts (CTE `source`, document rows `r` joined by `on`) ends: it
 * appends their change-log and version rows itself, or it stages them for appendStagedSql. The
 * change type of both is the account's new last_change_type. Follows the statement's CTE list.
 */
type Append = (source: string, on: string, now: string, sessionId: string) => string;

const appendDirectly: Append = (source, on, now, sessionId) => `,
log AS (${logChanges(source, on, `${source}.last_change_type`, now, sessionId)})
${openVersions(source, now)}`;

const STAGE = 'pg_temp.account_sync_stage';
const STAGE_COLUMNS = ['id', 'instance_id', 'db_type', 'last_change_type', ...VERSION_COLUMNS];

const stageForAppend: Append = (source, on) => `
INSERT INTO ${STAGE} (${STAGE_COLUMNS.join(', ')}, message, privilege_diff, other_diff)
SELECT ${STAGE_COLUMNS.map((c) => `${source}.${c}`).join(', ')}, r.message, r.privilege_diff, r.other_diff FROM ${source} JOIN r ON ${on}`;

/** Dropped at the end of the transaction, whatever its outcome. */
const CREATE_STAGE_SQL = `CREATE TEMP TABLE account_sync_stage ON COMMIT DROP AS
  SELECT ${STAGE_COLUMNS.join(', ')}, NULL::text AS message, NULL::jsonb AS privilege_diff, NULL::jsonb AS other_diff
    FROM current_account_sync_data WITH NO DATA`;

/**
 * The staged rows' change log and versions, appended with row triggers off, and the stage emptied:
 * one round trip (a multi-statement simple query, hence literals, not parameters: each separate
 * statement waited for Node to come back to its event loop between two chunks' planning).
 */
const appendStagedSql = (now: string, sessionId: string) => `
SET LOCAL session_replication_role = replica;
WITH log AS (
  INSERT INTO account_change_log (instance_id, account_id, db_type, username, change_type, change_time, session_id, message, privilege_diff, other_diff)
  SELECT instance_id, id, db_type, username, last_change_type, ${now}::timestamptz, ${sessionId}::text, message, privilege_diff, other_diff FROM ${STAGE} ORDER BY id)
INSERT INTO account_versions (account_id, instance_id, db_type, valid_from, change_type, ${VERSION_COLUMNS.join(', ')})
SELECT id, instance_id, db_type, ${now}::timestamptz, last_change_type, ${VERSION_COLUMNS.join(', ')} FROM ${STAGE} ORDER BY id;
SET LOCAL session_replication_role = origin;
TRUNCATE ${STAGE}`;

/** What each change-log row and version referenced is checked once, here, instead of per row. */
const LOCK_INSTANCE_SQL = `SELECT 1 FROM instances WHERE id = $1 FOR KEY SHARE`;

/** The stored snapshot of one instance, only the columns change detection compares. */
const SELECT_STORED_SQL = `
SELECT id, username, is_deleted AS "isDeleted", is_superuser AS "isSuperuser", is_active AS "isActive", is_locked AS "isLocked", host,
       ${[...JSON_COLUMNS, ...DATE_COLUMNS].map((c) => `${c} AS "${camel(c)}"`).join(', ')}
  FROM current_account_sync_data WHERE instance_id = $1 AND db_type = $2`;

/** $1 document of new accounts, $2 instance id, $3 db type, $4 session id, $5 now. */
const insertAddedSql = (append: Append) => `
WITH r AS (SELECT * FROM ${RECORD}),
ins AS (
  INSERT INTO current_account_sync_data (instance_id, db_type, session_id, last_change_type, last_change_time, last_sync_time, sync_time, username, ${STATE_COLUMNS.join(', ')})
  SELECT $2::int, $3::text, $4::text, 'add', $5::timestamptz, $5::timestamptz, $5::timestamptz, r.username, ${STATE_COLUMNS.map(stateValue).join(', ')} FROM r
  RETURNING *)${append('ins', 'r.username = ins.username', '$5::timestamptz', '$4::text')}`;

/** $1 document of modified and restored accounts (with id and change_type), $2–$5 as above. A
 * restored account is undeleted; their open versions end where the new ones start. */
const updateChangedSql = (append: Append) => `
WITH r AS (SELECT * FROM ${RECORD}),
upd AS (
  UPDATE current_account_sync_data a
     SET ${STATE_COLUMNS.map((c) => `${c} = ${stateValue(c)}`).join(', ')},
         is_deleted = false, deleted_time = CASE WHEN r.change_type = 'restore' THEN NULL ELSE a.deleted_time END,
         last_change_type = r.change_type, last_change_time = $5::timestamptz, last_sync_time = $5::timestamptz, session_id = $4::text
    FROM r WHERE a.id = r.id AND a.instance_id = $2::int AND a.db_type = $3::text
  RETURNING a.*),
closed AS (UPDATE account_versions v SET valid_to = $5::timestamptz FROM upd WHERE v.account_id = upd.id AND v.valid_to IS NULL)${append('upd', 'r.id = upd.id', '$5::timestamptz', '$4::text')}`;

/** $1 ids of vanished accounts, $2 session id, $3 now. A deleted account holds no classification
 * (history stays in the inactive rows); the dashboard counts active assignments without visiting
 * accounts because of this. */
const deleteVanishedSql = (append: Append) => `
WITH del AS (
  UPDATE current_account_sync_data SET is_deleted = true, deleted_time = $3::timestamptz, last_change_type = 'delete', last_change_time = $3::timestamptz, session_id = $2::text
   WHERE id = ANY($1::int[])
  RETURNING *),
unassigned AS (UPDATE account_classification_assignments SET is_active = false, updated_at = $3::timestamptz WHERE account_id = ANY($1::int[]) AND is_active),
closed AS (UPDATE account_versions SET valid_to = $3::timestamptz WHERE account_id = ANY($1::int[]) AND valid_to IS NULL),
r AS (SELECT '账户已删除' AS message, '{}'::jsonb AS privilege_diff, '{}'::jsonb AS other_diff)${append('del', 'true', '$3::timestamptz', '$2::text')}`;

/** The statements of each kind, for one way of appending the history. */
const statementsFor = (append: Append) => ({ added: insertAddedSql(append), updated: updateChangedSql(append), vanished: deleteVanishedSql(append) });
const DIRECT = statementsFor(appendDirectly);
const STAGED = statementsFor(stageForAppend);

/** $1 JSON array of {id, last_login_at, password_changed_at, password_expires_at}: staleness only, no change. */
const UPDATE_DATES_SQL = `
UPDATE current_account_sync_data a
   SET ${DATE_COLUMNS.map((c) => `${c} = r.${c}`).join(', ')}
  FROM jsonb_to_recordset($1::jsonb) AS r(id int, ${DATE_COLUMNS.map((c) => `${c} timestamptz`).join(', ')})
 WHERE a.id = r.id`;

/** History of an instance starts with the first snapshot that wrote anything. */
const HISTORY_SINCE_SQL = `UPDATE instances SET history_since = $2::timestamptz WHERE id = $1 AND history_since IS NULL`;

/** The plan of a snapshot read in parts: each part planned as it arrives, the rest once the read ended. */
async function* planStream(planner: SnapshotPlanner, parts: AsyncIterator<UnifiedAccount[]>, first: IteratorResult<UnifiedAccount[]>): AsyncGenerator<PlanStep, SnapshotCounts> {
  for (let part = first; !part.done; part = await parts.next()) yield* planner.add(part.value);
  return yield* planner.finish();
}

/**
 * Writes one instance's fresh snapshot in one transaction. `accounts` is the whole snapshot, or its
 * parts as the adapter reads them (ended by the reader, or failed: then nothing is written): the
 * transaction opens with the first part, and each part is written while the next is being read.
 */
export async function applySnapshot(
  pool: pg.Pool,
  instance: { id: number; dbType: string },
  accounts: UnifiedAccount[] | AsyncIterable<UnifiedAccount[]>,
  sessionId: string,
  now = new Date(),
): Promise<SnapshotCounts> {
  const parts = Array.isArray(accounts) ? undefined : accounts[Symbol.asyncIterator]();
  const firstPart = await parts?.next();
  const client = await pool.connect();
  let counts: SnapshotCounts;
  let queue: StatementQueue | undefined;
  try {
    await client.query('BEGIN');
    const staged = await mayAppendWithoutRowTriggers(client);
    if (staged) {
      const { rowCount } = await client.query(LOCK_INSTANCE_SQL, [instance.id]);
      if (!rowCount) throw new Error(`实例 ${instance.id} 不存在`);
      await client.query(CREATE_STAGE_SQL);
    }
    const { rows: stored } = await client.query<StoredRow>(SELECT_STORED_SQL, [instance.id, instance.dbType]);
    const q = (queue = new StatementQueue(client));
    const sql = staged ? STAGED : DIRECT;
    const args = [instance.id, instance.dbType, sessionId, now];
    /** After a statement that staged history rows: append them with the row triggers off, empty the stage. */
    const appendStaged = () => {
      if (!staged) return;
      q.push(appendStagedSql(client.escapeLiteral(now.toISOString()), client.escapeLiteral(sessionId)));
    };
    const send = (step: PlanStep) => {
      switch (step.kind) {
        case 'updated': {
          const doc = step.items.map((u) => recordOf(u.account, u.diff, u.message, { id: u.id, change_type: u.changeType }));
          q.push(sql.updated, [JSON.stringify(doc), ...args]);
          return appendStaged();
        }
        case 'dateUpdates': {
          const doc = step.items.map(({ id, account: a }) => ({
            id,
            last_login_at: a.lastLoginAt ?? null,
            password_changed_at: a.passwordChangedAt ?? null,
            password_expires_at: a.passwordExpiresAt ?? null,
          }));
          return q.push(UPDATE_DATES_SQL, [JSON.stringify(doc)]);
        }
        case 'vanished':
          q.push(sql.vanished, [step.ids, sessionId, now]);
          return appendStaged();
        case 'added':
          q.push(sql.added, [JSON.stringify(step.items.map((c) => recordOf(c.account, c.diff, c.message))), ...args]);
          return appendStaged();
      }
    };
    let changed = false;
    const steps = parts ? planStream(new SnapshotPlanner(stored, CHUNK), parts, firstPart!) : planSnapshotInSteps(stored, accounts as UnifiedAccount[], CHUNK);
    for (let next = await steps.next(); ; next = await steps.next()) {
      if (next.done) {
        counts = next.value;
        break;
      }
      send(next.value);
      changed ||= next.value.kind !== 'dateUpdates';
      await q.yieldToDatabase(); // the chunk goes out; the next one is planned while it runs
    }
    if (changed) q.push(HISTORY_SINCE_SQL, [instance.id, now]);
    await q.drain();
    await client.query('COMMIT');
  } catch (err) {
    await queue?.settled(); // a statement may still be running (the failure was Node's)
    // A client whose ROLLBACK fails has lost its connection: it must not go back to the pool.
    const broken = await client.query('ROLLBACK').then(() => false, () => true);
    client.release(broken);
    throw err;
  }
  client.release();
  return counts;
}
