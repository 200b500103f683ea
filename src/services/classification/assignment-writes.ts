/**
 * The writes of an auto-classification batch, queued on its transaction's connection while the
 * batch goes on reading and evaluating (the database writes one page while Node evaluates the next).
 *
 * Inserting ~170k assignments spent most of its time in the per-row foreign-key triggers (three
 * RI checks per row: account, classification, assigner; bench/classify measured them at two thirds
 * of the insert). When the session may set session_replication_role (a superuser, or
 * `GRANT SET ON PARAMETER session_replication_role`), the inserts run with the row triggers off and
 * take the same guarantee set-wise, in the insert statement itself:
 *  - the accounts are locked FOR KEY SHARE (what the RI check takes): until the batch commits none
 *    can be deleted, and a delete waiting on the lock then cascades to the new rows, as ever;
 *  - rows whose account is gone by then are left out (a full run would have removed them anyway);
 *  - the classifications are locked FOR KEY SHARE by the batch when it reads the rules, and only
 *    their ids are inserted; assigned_by is NULL for auto assignments (nothing to check).
 * The constraints themselves stay (ON DELETE CASCADE included): every other writer is checked as
 * before. Without the privilege the plain insert runs, with its row checks. The deactivations share
 * the statement, so they run with row triggers off too: the table has none but its foreign keys',
 * and is_active is no key.
 */
import type pg from 'pg';
import type { AutoClassifyScope } from './auto-classify.js';
import { scopeSql } from './account-reader.js';

/** One page's matches, column-wise (sent as int arrays: no object per match on either side). */
export interface PageMatches {
  accountIds: number[];
  classificationIds: number[];
  ruleIds: number[];
}

/** Above every account id (int4): the range of the final settle, for deleted accounts after the last page. */
export const LAST_ACCOUNT_ID = 2147483647;

const INSERT_COLUMNS = 'account_id, classification_id, rule_id, assignment_type, batch_id, is_active, confidence_score';

/**
 * Whether this session may switch off row triggers for its own statements: a superuser may, others
 * when granted SET on session_replication_role (PostgreSQL 15 and later). Asked, not tried: a
 * refused SET would put an error in the server log on every batch.
 */
async function maySkipRowTriggers(client: pg.PoolClient): Promise<boolean> {
  const { rows } = await client.query<{ su: boolean; v15: boolean }>(
    `SELECT current_setting('is_superuser') = 'on' AS su, current_setting('server_version_num')::int >= 150000 AS v15`,
  );
  if (rows[0]!.su) return true;
  if (!rows[0]!.v15) return false;
  const { rows: granted } = await client.query<{ ok: boolean }>(`SELECT has_parameter_privilege('session_replication_role', 'SET') AS ok`);
  return granted[0]!.ok;
}

export class AssignmentWrites {
  private tail: Promise<void> = Promise.resolve();
  private firstError: Error | null = null;
  private readonly counts = { added: 0, removed: 0, kept: 0 };

  private constructor(
    private readonly client: pg.PoolClient,
    private readonly batchId: string,
    private readonly scope: AutoClassifyScope,
    private readonly setWise: boolean,
  ) {}

  /** `client` is in the batch's transaction, which holds FOR KEY SHARE locks on the classifications. */
  static async open(client: pg.PoolClient, batchId: string, scope: AutoClassifyScope): Promise<AssignmentWrites> {
    return new AssignmentWrites(client, batchId, scope, await maySkipRowTriggers(client));
  }

  /** The first write that failed (the transaction is aborted then, so later statements fail too). */
  get error(): Error | null {
    return this.firstError;
  }

  /**
   * Brings the assignments of the accounts in scope with ids in (after, upTo] in line with `m`, the
   * matches of the accounts read there (the accounts in scope of that range that were not read are
   * deleted ones): the database compares, Node never reads the current assignments. In one statement,
   * over the active assignments of the range:
   *  - an auto one that is not matched is deactivated (deleted accounts': all of them), a matched one
   *    is kept as it is; manual ones are never touched;
   *  - a match with no active assignment of its classification (auto or manual) is inserted.
   */
  settle(after: number, upTo: number, m: PageMatches): void {
    const params: unknown[] = [m.accountIds, m.classificationIds, m.ruleIds, this.batchId, after, upTo];
    const inScope = scopeSql(this.scope, params, 'a', true);
    // Set-wise foreign-key guarantee (see the top of this file): only accounts still there, locked.
    const locked = this.setWise ? ', locked AS (SELECT id FROM current_account_sync_data WHERE id = ANY($1::int[]) FOR KEY SHARE)' : '';
    const sql = `
      WITH m AS (SELECT * FROM unnest($1::int[], $2::int[], $3::int[]) AS m(a, c, r)),
      held AS (
        SELECT s.id, s.account_id, s.classification_id, s.assignment_type <> 'manual' AS auto
          FROM account_classification_assignments s
          JOIN current_account_sync_data a ON a.id = s.account_id JOIN instances i ON i.id = a.instance_id
         WHERE s.is_active AND s.account_id > $5 AND s.account_id <= $6 AND ${inScope}),
      gone AS (
        UPDATE account_classification_assignments s SET is_active = false, updated_at = now()
          FROM held h
         WHERE s.id = h.id AND h.auto AND NOT EXISTS (SELECT 1 FROM m WHERE m.a = h.account_id AND m.c = h.classification_id)
        RETURNING 1)${locked},
      added AS (
        INSERT INTO account_classification_assignments (${INSERT_COLUMNS})
        SELECT m.a, m.c, m.r, 'auto', $4, true, 1.0 FROM m ${this.setWise ? 'JOIN locked ON locked.id = m.a' : ''}
         WHERE NOT EXISTS (SELECT 1 FROM held h WHERE h.account_id = m.a AND h.classification_id = m.c)
        RETURNING 1)
      SELECT (SELECT count(*) FROM held WHERE auto)::int AS auto, (SELECT count(*) FROM gone)::int AS removed, (SELECT count(*) FROM added)::int AS added`;
    if (this.setWise) this.queue('SET LOCAL session_replication_role = replica');
    this.queue(sql, params, (r) => {
      const c = r.rows[0] as { auto: number; removed: number; added: number };
      this.counts.added += c.added;
      this.counts.removed += c.removed;
      this.counts.kept += c.auto - c.removed;
    });
    if (this.setWise) this.queue('SET LOCAL session_replication_role = origin');
  }

  /**
   * A read on the batch connection, after the writes queued so far (the embedded database serves one
   * session: there the batch reads on this connection too).
   */
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
  query<R extends unknown[]>(config: pg.QueryArrayConfig): Promise<pg.QueryArrayResult<R>>;
  query(config: pg.QueryConfig | pg.QueryArrayConfig): Promise<pg.QueryResult | pg.QueryArrayResult> {
    const p = this.tail.then(() => {
      if (this.firstError) throw this.firstError;
      return this.client.query(config as pg.QueryConfig);
    });
    this.tail = p.then(
      () => {},
      (err: Error) => {
        this.firstError ??= err;
      },
    );
    return p;
  }

  /** Waits for every queued write; returns how many assignments were inserted, deactivated and kept. */
  async finish(): Promise<{ added: number; removed: number; kept: number }> {
    await this.tail;
    if (this.firstError) throw this.firstError;
    return { ...this.counts };
  }

  /** Statements run one after another (pg would queue them too, but that is deprecated). */
  private queue(sql: string, params?: unknown[], onResult?: (r: pg.QueryResult) => void): void {
    this.tail = this.tail.then(() =>
      this.firstError
        ? undefined // the transaction is aborted: nothing more can run in it
        : this.client.query(sql, params).then(
            (r) => onResult?.(r),
            (err: Error) => {
              this.firstError = err;
            },
          ),
    );
  }
}
