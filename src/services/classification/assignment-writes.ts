/**
 * The writes of an auto-classification batch, queued on its transaction's connection while the
 * batch goes on reading and evaluating (the database writes one page while Node evaluates the next).
 *
 * Inserting ~170k assignments spent most of its time in the per-row foreign-key triggers (three
 * RI checks per row: account, classification, assigner; bench/classify measured them at two thirds
 * of the insert). When the session may set session_replication_role (a superuser, or
 * `GRANT SET ON PARAMETER session_replication_role`), the inserts run with the row triggers off and
 * keep the same guarantee set-wise:
 *  - no account can be deleted while the batch runs: a DELETE on current_account_sync_data waits for
 *    the batch's advisory lock (trigger account_delete_waits_for_classify), then cascades to the new
 *    rows, as ever; and a batch cannot start while such a delete is uncommitted (its try-lock
 *    fails). Locking each account FOR KEY SHARE instead, as the RI check does, cost a third of the
 *    insert time (100k tuple locks, each a heap write);
 *  - the classifications are locked FOR KEY SHARE by the batch when it reads the rules, and only
 *    their ids are inserted; assigned_by is NULL for auto assignments (nothing to check).
 * The constraints themselves stay (ON DELETE CASCADE included): every other writer is checked as
 * before. Without the privilege the plain insert runs, with its row checks.
 */
import type pg from 'pg';
import { maySetReplicationRole } from '../../db/replication-role.js';
import { StatementQueue } from '../../db/statement-queue.js';

export interface NewAssignment {
  accountId: number;
  classificationId: number;
  ruleId: number;
}

const INSERT_COLUMNS = 'account_id, classification_id, rule_id, assignment_type, batch_id, is_active, confidence_score';

/**
 * An int[] parameter as its array literal: pg would quote and escape each of ~170k elements one by
 * one (a first batch of 100k accounts spent more time there than in sending them).
 */
const intArray = (xs: number[]): string => `{${xs.join(',')}}`;

export class AssignmentWrites {
  private readonly statements: StatementQueue;
  private addedRows = 0;

  private constructor(
    client: pg.PoolClient,
    private readonly batchId: string,
    private readonly setWise: boolean,
  ) {
    this.statements = new StatementQueue(client);
  }

  /** `client` is in the batch's transaction, which holds FOR KEY SHARE locks on the classifications. */
  static async open(client: pg.PoolClient, batchId: string): Promise<AssignmentWrites> {
    return new AssignmentWrites(client, batchId, await maySetReplicationRole(client));
  }

  /** The first write that failed (the transaction is aborted then, so later statements fail too). */
  get error(): Error | null {
    return this.statements.error;
  }

  deactivate(ids: number[]): void {
    if (ids.length) this.statements.push('UPDATE account_classification_assignments SET is_active = false, updated_at = now() WHERE id = ANY($1::int[])', [intArray(ids)]);
  }

  insert(rows: NewAssignment[]): void {
    if (!rows.length) return;
    const params = [intArray(rows.map((m) => m.accountId)), intArray(rows.map((m) => m.classificationId)), intArray(rows.map((m) => m.ruleId)), this.batchId];
    const values = `SELECT t.a, t.c, t.r, 'auto', $4, true, 1.0 FROM unnest($1::int[], $2::int[], $3::int[]) AS t(a, c, r)`;
    if (this.setWise) this.statements.push('SET LOCAL session_replication_role = replica');
    this.statements.push(`INSERT INTO account_classification_assignments (${INSERT_COLUMNS}) ${values}`, params, (r) => (this.addedRows += r.rowCount ?? 0));
    if (this.setWise) this.statements.push('SET LOCAL session_replication_role = origin');
  }

  /**
   * A read on the batch connection, after the writes queued so far (the embedded database serves one
   * session: there the batch reads on this connection too).
   */
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
  query<R extends unknown[]>(config: pg.QueryArrayConfig): Promise<pg.QueryArrayResult<R>>;
  query(config: pg.QueryConfig | pg.QueryArrayConfig): Promise<pg.QueryResult | pg.QueryArrayResult> {
    return this.statements.query(config as pg.QueryConfig);
  }

  /** Waits for every queued write; returns how many assignments were inserted. */
  async finish(): Promise<{ added: number }> {
    await this.statements.drain();
    return { added: this.addedRows };
  }
}
