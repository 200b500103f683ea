/**
 * Whether the sync writer may append its change-log and version rows with the row triggers off
 * (session_replication_role = replica), i.e. without the per-row foreign-key checks that cost the
 * first sync of a large instance about a third of its SQL time (bench/sync).
 *
 * Only those two append-only tables are ever written that way; current_account_sync_data, whose
 * triggers (account_figures, and whatever comes later) must always fire, is never. The answer is no:
 *  - unless the session may set the parameter: a superuser, or GRANT SET ON PARAMETER
 *    session_replication_role (PostgreSQL 15 and later). Asked, not tried: a refused SET would put
 *    an error in the server log on every sync;
 *  - unless it may create the temporary staging table (TEMP on the database);
 *  - when either table has a trigger of its own that replica mode would silence (or wake: ENABLE
 *    REPLICA triggers): only the constraint triggers, whose guarantee the writer takes set-wise, may
 *    be skipped. ENABLE ALWAYS triggers fire either way.
 */
import type pg from 'pg';
import { maySetReplicationRole } from '../../db/replication-role.js';

/** Tables the fast path writes with row triggers off. */
export const APPEND_TABLES = ['account_change_log', 'account_versions'] as const;

export async function mayAppendWithoutRowTriggers(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ temp: boolean; triggers: boolean }>(
    `SELECT has_database_privilege(current_database(), 'TEMP') AS temp,
            EXISTS (SELECT 1 FROM pg_trigger
                     WHERE tgrelid = ANY($1::regclass[]) AND NOT tgisinternal AND tgenabled IN ('O', 'R')) AS triggers`,
    [APPEND_TABLES],
  );
  const r = rows[0]!;
  if (!r.temp || r.triggers) return false;
  return maySetReplicationRole(client);
}
