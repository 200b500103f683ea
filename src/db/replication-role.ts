/**
 * Whether a session may switch off row triggers for its own statements (SET LOCAL
 * session_replication_role = replica): bulk writers (auto-classify's assignments, the sync's history
 * rows) then skip the per-row foreign-key checks and take their guarantee set-wise. A superuser may;
 * others when granted SET on the parameter (PostgreSQL 15 and later). Asked, not tried: a refused
 * SET would put an error in the server log on every batch.
 */
import type pg from 'pg';

export async function maySetReplicationRole(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ su: boolean; v15: boolean }>(
    `SELECT current_setting('is_superuser') = 'on' AS su, current_setting('server_version_num')::int >= 150000 AS v15`,
  );
  if (rows[0]!.su) return true;
  if (!rows[0]!.v15) return false;
  // A separate statement: has_parameter_privilege does not exist before PostgreSQL 15.
  const { rows: granted } = await client.query<{ ok: boolean }>(`SELECT has_parameter_privilege('session_replication_role', 'SET') AS ok`);
  return granted[0]!.ok;
}
