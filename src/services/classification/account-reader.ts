/**
 * What an auto-classification batch reads, on a connection of its own (not the batch transaction's):
 * the database reads the next page there while the batch's transaction writes the changes of the
 * previous ones on the other connection, and Node evaluates in between. Each statement sees what
 * is committed when it starts, as it did inside the READ COMMITTED batch transaction.
 */
import type pg from 'pg';
import type { DbType } from '../../adapters/types.js';
import type { AutoClassifyScope } from './auto-classify.js';

const PAGE = 5000;

export interface CurrentAssignment {
  id: number;
  accountId: number;
  classificationId: number;
  manual: boolean;
}

/** Where the batch reads: its reader connection, or the batch connection's queue (see auto-classify.ts). */
export interface Reader {
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
  query<R extends unknown[]>(config: pg.QueryArrayConfig): Promise<pg.QueryArrayResult<R>>;
}

export type AccountRow = Record<string, unknown> & { id: number; db_type: DbType };

/**
 * The conditions of the accounts in scope (table aliases a: accounts, i: instances). With
 * `includeDeleted`, accounts deleted on their server are in too (their auto assignments are removed).
 */
export function scopeSql(scope: AutoClassifyScope, params: unknown[], alias = 'a', includeDeleted = false): string {
  const c = includeDeleted ? ['i.is_active', 'i.deleted_at IS NULL'] : [`NOT ${alias}.is_deleted`, 'i.is_active', 'i.deleted_at IS NULL'];
  if (scope.instanceId) c.push(`${alias}.instance_id = $${params.push(scope.instanceId)}`);
  if (scope.instanceIds) c.push(`${alias}.instance_id = ANY($${params.push(scope.instanceIds)}::int[])`);
  if (scope.dbType) c.push(`${alias}.db_type = $${params.push(scope.dbType)}`);
  return c.join(' AND ');
}

/**
 * Active assignments in scope, deleted accounts' included, in account order: the batch walks them
 * in step with the accounts it reads. Read as arrays and sorted here: a batch's assignments are
 * inserted in account order, so the rows come nearly sorted and the sort is cheap, where the
 * database would sort ~170k rows on disk (work_mem) and build an object per row.
 */
export async function readCurrentAssignments(db: Reader, scope: AutoClassifyScope): Promise<CurrentAssignment[]> {
  const params: unknown[] = [];
  const { rows } = await db.query<[number, number, number, boolean]>({
    text: `SELECT s.id, s.account_id, s.classification_id, s.assignment_type = 'manual'
             FROM account_classification_assignments s
             JOIN current_account_sync_data a ON a.id = s.account_id JOIN instances i ON i.id = a.instance_id
            WHERE s.is_active AND ${scopeSql(scope, params, 'a', true)}`,
    values: params,
    rowMode: 'array',
  });
  return rows.map(([id, accountId, classificationId, manual]) => ({ id, accountId, classificationId, manual })).sort((x, y) => x.accountId - y.accountId);
}

/**
 * The accounts in scope (not deleted) in id order, in keyset pages of `columns` (besides id and
 * db_type). The next page is requested as soon as one arrives, so the database reads it while the
 * caller evaluates this one; `waitMs` accumulates the time spent waiting for pages.
 */
export async function* accountPages(db: Reader, scope: AutoClassifyScope, columns: string[], wait: { waitMs: number }): AsyncGenerator<AccountRow[]> {
  const select = ['a.id', 'a.db_type', ...columns.map((c) => `a.${c}`)].join(', ');
  const page = (after: number) => {
    const params: unknown[] = [];
    const where = scopeSql(scope, params);
    const p = db.query<AccountRow>({
      text: `SELECT ${select} FROM current_account_sync_data a JOIN instances i ON i.id = a.instance_id
              WHERE ${where} AND a.id > $${params.push(after)} ORDER BY a.id LIMIT ${PAGE}`,
      values: params,
    });
    p.catch(() => {}); // awaited below; an abandoned prefetch (the batch failed) must not go unhandled
    return p;
  };
  let pending: Promise<pg.QueryResult<AccountRow>> | null = page(0);
  while (pending) {
    const t0 = performance.now();
    const { rows }: pg.QueryResult<AccountRow> = await pending;
    wait.waitMs += performance.now() - t0;
    pending = rows.length === PAGE ? page(rows[rows.length - 1]!.id) : null;
    yield rows;
  }
}
