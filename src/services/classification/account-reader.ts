/**
 * What an auto-classification batch reads, on a connection of its own (not the batch transaction's):
 * the database reads the next page there while the batch's transaction writes the changes of the
 * previous ones on the other connection, and Node evaluates in between. Each statement sees what
 * is committed when it starts, as it did inside the READ COMMITTED batch transaction.
 */
import type pg from 'pg';
import type { DbType } from '../../adapters/types.js';
import type { ClockWindow } from './rule-expression.js';
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
 * Which accounts a batch re-evaluates, when not all. `marks` holds, per instance whose last batch
 * ran the same rules, that batch's xmin and its "now"; an account of such an instance is evaluated
 * again only when
 *  - it changed since (classify_xid >= xmin: its row, or an assignment made or removed by hand);
 *  - it holds a manual assignment: a classification held by hand gets no auto assignment, so
 *    whether the rules match it is written nowhere, and the batch's counts need it;
 *  - or the clock alone moved one of its age conditions across its threshold since that batch
 *    (`windows`: per type, the date columns and ages its rules compare; see clockWindows).
 * Accounts of instances without a mark are always evaluated.
 */
export interface Pending {
  marks: Record<string, { xid: string; at: string }>;
  /** This batch's "now" (ISO). */
  now: string;
  windows: Partial<Record<DbType, ClockWindow[]>>;
}

/** The SQL condition "this account (alias) is evaluated by the batch", its parameters pushed. */
export function pendingSql(pending: Pending, params: unknown[], alias = 'a'): string {
  const mark = `($${params.push(JSON.stringify(pending.marks))}::jsonb -> ${alias}.instance_id::text)`;
  let now: string | undefined; // a parameter only when used: an unused one has no type and fails the statement
  const clock = Object.entries(pending.windows).flatMap(([dbType, windows]) => {
    if (!windows?.length) return [];
    now ??= `$${params.push(pending.now)}::timestamptz`;
    const crossed = windows.map(({ column, days }) => {
      const age = `${Number.isFinite(days) ? days : 0} * interval '1 day'`;
      return `${alias}.${column} BETWEEN (${mark} ->> 'at')::timestamptz - ${age} AND ${now} - ${age}`;
    });
    return [`(${alias}.db_type = $${params.push(dbType)} AND (${crossed.join(' OR ')}))`];
  });
  return `(coalesce(${alias}.classify_xid >= (${mark} ->> 'xid')::xid8, true)
           OR ${alias}.id IN (SELECT m.account_id FROM account_classification_assignments m WHERE m.is_active AND m.assignment_type = 'manual')
           ${clock.map((c) => `OR coalesce(${c}, false)`).join('\n           ')})`;
}

/**
 * The conditions of the accounts in scope (table aliases a: accounts, i: instances). With
 * `includeDeleted`, accounts deleted on their server are in too (their auto assignments are removed).
 * With `pending`, only the accounts the batch re-evaluates (see Pending).
 */
export function scopeSql(scope: AutoClassifyScope, params: unknown[], alias = 'a', includeDeleted = false, pending?: Pending | null): string {
  const c = includeDeleted ? ['i.is_active', 'i.deleted_at IS NULL'] : [`NOT ${alias}.is_deleted`, 'i.is_active', 'i.deleted_at IS NULL'];
  if (scope.instanceId) c.push(`${alias}.instance_id = $${params.push(scope.instanceId)}`);
  if (scope.instanceIds) c.push(`${alias}.instance_id = ANY($${params.push(scope.instanceIds)}::int[])`);
  if (scope.dbType) c.push(`${alias}.db_type = $${params.push(scope.dbType)}`);
  if (pending) c.push(pendingSql(pending, params, alias));
  return c.join(' AND ');
}

/** The instances in scope (alias i), as scopeSql picks their accounts. */
export function instanceScopeSql(scope: AutoClassifyScope, params: unknown[]): string {
  const c = ['i.is_active', 'i.deleted_at IS NULL'];
  if (scope.instanceId) c.push(`i.id = $${params.push(scope.instanceId)}`);
  if (scope.instanceIds) c.push(`i.id = ANY($${params.push(scope.instanceIds)}::int[])`);
  if (scope.dbType) c.push(`i.db_type = $${params.push(scope.dbType)}`);
  return c.join(' AND ');
}

/**
 * What the accounts a batch does not re-evaluate contribute to its figures. Unchanged under the same
 * rules and holding no manual assignment, each one's matches are exactly its active auto assignments.
 */
export async function unchangedFigures(
  db: Reader,
  scope: AutoClassifyScope,
  pending: Pending,
): Promise<{ accounts: number; matched: number; assignments: number; perClass: Map<number, number> }> {
  const params: unknown[] = [];
  const where = scopeSql(scope, params);
  const evaluated = pendingSql(pending, params);
  const { rows } = await db.query<[number, number | null, number]>({
    text: `WITH u AS (SELECT a.id FROM current_account_sync_data a JOIN instances i ON i.id = a.instance_id WHERE ${where} AND NOT ${evaluated}),
                s AS (SELECT s.account_id, s.classification_id FROM account_classification_assignments s JOIN u ON u.id = s.account_id
                       WHERE s.is_active AND s.assignment_type <> 'manual')
           SELECT (SELECT count(*) FROM u)::int, NULL::int, (SELECT count(DISTINCT account_id) FROM s)::int
           UNION ALL
           SELECT -1, classification_id, count(*)::int FROM s GROUP BY classification_id`,
    values: params,
    rowMode: 'array',
  });
  const perClass = new Map<number, number>();
  let accounts = 0;
  let matched = 0;
  let assignments = 0;
  for (const [a, classificationId, n] of rows) {
    if (classificationId === null) {
      accounts = a;
      matched = n;
    } else {
      perClass.set(classificationId, n);
      assignments += n;
    }
  }
  return { accounts, matched, assignments, perClass };
}

/**
 * Active assignments in scope, deleted accounts' included, in account order: the batch walks them
 * in step with the accounts it reads. Read as arrays and sorted here: a batch's assignments are
 * inserted in account order, so the rows come nearly sorted and the sort is cheap, where the
 * database would sort ~170k rows on disk (work_mem) and build an object per row.
 */
export async function readCurrentAssignments(db: Reader, scope: AutoClassifyScope, pending: Pending | null = null): Promise<CurrentAssignment[]> {
  const params: unknown[] = [];
  const { rows } = await db.query<[number, number, number, boolean]>({
    text: `SELECT s.id, s.account_id, s.classification_id, s.assignment_type = 'manual'
             FROM account_classification_assignments s
             JOIN current_account_sync_data a ON a.id = s.account_id JOIN instances i ON i.id = a.instance_id
            WHERE s.is_active AND ${scopeSql(scope, params, 'a', true, pending)}`,
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
export async function* accountPages(
  db: Reader,
  scope: AutoClassifyScope,
  columns: string[],
  wait: { waitMs: number },
  pending: Pending | null = null,
): AsyncGenerator<AccountRow[]> {
  const select = ['a.id', 'a.db_type', ...columns.map((c) => `a.${c}`)].join(', ');
  const page = (after: number) => {
    const params: unknown[] = [];
    const where = scopeSql(scope, params, 'a', false, pending);
    const p = db.query<AccountRow>({
      text: `SELECT ${select} FROM current_account_sync_data a JOIN instances i ON i.id = a.instance_id
              WHERE ${where} AND a.id > $${params.push(after)} ORDER BY a.id LIMIT ${PAGE}`,
      values: params,
    });
    p.catch(() => {}); // awaited below; an abandoned prefetch (the batch failed) must not go unhandled
    return p;
  };
  let next: Promise<pg.QueryResult<AccountRow>> | null = page(0);
  while (next) {
    const t0 = performance.now();
    const { rows }: pg.QueryResult<AccountRow> = await next;
    wait.waitMs += performance.now() - t0;
    next = rows.length === PAGE ? page(rows[rows.length - 1]!.id) : null;
    yield rows;
  }
}
