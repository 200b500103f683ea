/**
 * Automatic classification (SPEC §3.7, with its fixes): one batch evaluates every active rule on
 * every account in scope and brings the auto assignments in line with the result.
 *
 *  - Rules are compiled once per batch; accounts are read in keyset pages with only the columns the
 *    rules look at, and each account's facts are built once for all rules (no query per account).
 *  - Idempotent: an auto assignment that still matches is kept as it is (same row), one that no
 *    longer matches is deactivated, a new match gets a row carrying this batch's id. Manual
 *    assignments are never touched, and an account manually assigned to a classification gets no
 *    auto duplicate.
 *  - Everything runs in one transaction under an advisory lock: two batches never interleave, and a
 *    failure leaves the assignments as they were (the batch row records the failure).
 *  - Incremental: an instance whose last batch ran the same rules has only its accounts changed
 *    since evaluated again (and those holding manual assignments, and those whose dates crossed an
 *    age threshold); the others are counted from their auto assignments. See Pending in
 *    account-reader.ts and classification_watermarks in schema.prisma.
 *  - The batch's matches are the assignments it made (as upstream: assignments carrying its batch id,
 *    with the first matching rule); its details hold the totals of everything it matched, per
 *    classification, so an unchanged re-run writes nothing but its own row.
 */
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { AppDeps } from '../../deps.js';
import type { AuthUser } from '../../auth/permissions.js';
import { DB_TYPES, type DbType } from '../../adapters/types.js';
import { ConflictError, ValidationError } from '../../lib/errors.js';
import { accountPages, instanceScopeSql, readCurrentAssignments, unchangedFigures, type CurrentAssignment, type Pending } from './account-reader.js';
import { AssignmentWrites, type NewAssignment } from './assignment-writes.js';
import { CATALOGUE } from './catalogue.js';
import { clockWindows, columnsFor, compileRule, factsReader, fieldsOf, normalizeRule, type EvalOptions, type Predicate, type RuleNode } from './rule-expression.js';

export type BatchType = 'manual' | 'scheduled' | 'api' | 'after_sync';

export interface AutoClassifyScope {
  instanceId?: number;
  /** Several instances (after a sync session: the instances it synced). */
  instanceIds?: number[];
  dbType?: DbType;
}

export interface AutoClassifyOptions {
  /** Called with the batch id as soon as the batch row exists (job runs link it at once). */
  onStart?: (batchId: string) => Promise<void> | void;
}

export interface BatchResult {
  batchId: string;
  totalAccounts: number;
  /** The accounts evaluated (the others are unchanged since the last batch under the same rules). */
  evaluatedAccounts: number;
  matchedAccounts: number;
  totalRules: number;
  added: number;
  removed: number;
  kept: number;
  byClassification: Array<{ classificationId: number; name: string; matched: number }>;
  errors: Array<{ ruleId: number; error: string }>;
  durationMs: number;
  /**
   * Where the time went: waiting for accounts (and the active assignments), evaluating and comparing,
   * and waiting at the end for the writes still queued (the others overlap the reading).
   */
  phases: { readMs: number; evaluateMs: number; writeMs: number };
}

/** pg_advisory_xact_lock key of auto-classification ("classify" in ASCII). */
const LOCK_KEY = 0x636c6173;

interface CompiledRule {
  id: number;
  classificationId: number;
  dbType: DbType;
  predicate: Predicate;
  fields: Set<string>;
  tree: RuleNode;
}

/**
 * The active rules in scope, compiled, in priority order. Their classifications are locked FOR KEY
 * SHARE until the batch ends, as the foreign-key check of each new assignment would lock them: the
 * batch's inserts rely on it (see assignment-writes.ts).
 */
async function compiledRules(client: pg.PoolClient, scope: AutoClassifyScope, errors: BatchResult['errors'], opts: EvalOptions): Promise<{ rules: CompiledRule[]; names: Map<number, string> }> {
  const { rows } = await client.query<{ id: number; classification_id: number; db_type: string; rule_expression: unknown; name: string }>(
    `SELECT r.id, r.classification_id, r.db_type, r.rule_expression, c.name
       FROM classification_rules r JOIN account_classifications c ON c.id = r.classification_id
      WHERE r.is_active AND c.is_active ${scope.dbType ? 'AND r.db_type = $1' : ''}
      ORDER BY c.priority DESC, r.created_at ASC, r.id ASC
        FOR KEY SHARE OF c`,
    scope.dbType ? [scope.dbType] : [],
  );
  const rules: CompiledRule[] = [];
  const names = new Map<number, string>();
  for (const r of rows) {
    names.set(r.classification_id, r.name);
    if (!(DB_TYPES as readonly string[]).includes(r.db_type)) continue;
    try {
      const dbType = r.db_type as DbType;
      const tree = normalizeRule(dbType, r.rule_expression);
      rules.push({ id: r.id, classificationId: r.classification_id, dbType, predicate: compileRule(dbType, tree, opts), fields: fieldsOf(tree), tree });
    } catch (err) {
      // A rule saved before a catalogue change may no longer validate: skip it, say so in the batch.
      errors.push({ ruleId: r.id, error: (err as Error).message });
    }
  }
  return { rules, names };
}

/**
 * Bumped when evaluation itself changes (how facts are built, what an operator means): every
 * instance is then evaluated in full once, whatever its watermark says.
 */
const EVALUATION_VERSION = 1;

/**
 * A hash per database type of everything the outcome for an unchanged account depends on: the rules
 * in evaluation order (which also encodes the classifications' priorities and active flags), and
 * the catalogue that builds the facts.
 */
function rulesHashes(byType: Map<DbType, CompiledRule[]>, opts: EvalOptions): Record<DbType, string> {
  const out = {} as Record<DbType, string>;
  for (const t of DB_TYPES) {
    const rules = (byType.get(t) ?? []).map((r) => [r.id, r.classificationId, r.tree]);
    const input = { v: EVALUATION_VERSION, catalogue: CATALOGUE[t], staleDays: opts.staleDays, rules };
    out[t] = createHash('sha256').update(JSON.stringify(input)).digest('hex');
  }
  return out;
}

/**
 * Which accounts this batch must evaluate (null: all in scope). An instance whose last batch ran the
 * same rules needs only its accounts changed since (see Pending in account-reader.ts, and
 * classification_watermarks in schema.prisma).
 */
async function pendingFor(client: pg.PoolClient, scope: AutoClassifyScope, byType: Map<DbType, CompiledRule[]>, hashes: Record<DbType, string>, opts: EvalOptions): Promise<Pending | null> {
  const params: unknown[] = [];
  const { rows } = await client.query<{ instance_id: number; xid: string; at: Date; rules_hash: string; db_type: DbType }>(
    // A mark "from the future" (the database was restored into a cluster whose transaction ids are
    // lower) would hide every change made since: such an instance is evaluated in full.
    `SELECT w.instance_id, w.since_xid::text AS xid, w.evaluated_at AS at, w.rules_hash, i.db_type
       FROM classification_watermarks w JOIN instances i ON i.id = w.instance_id
      WHERE ${instanceScopeSql(scope, params)} AND w.since_xid <= pg_snapshot_xmax(pg_current_snapshot())`,
    params,
  );
  const marks: Pending['marks'] = {};
  for (const w of rows) if (w.rules_hash === hashes[w.db_type]) marks[w.instance_id] = { xid: w.xid, at: w.at.toISOString() };
  if (!Object.keys(marks).length) return null;
  const windows: Pending['windows'] = {};
  for (const [t, rules] of byType) {
    const all = rules.flatMap((r) => clockWindows(t, r.tree, opts));
    windows[t] = [...new Map(all.map((w) => [`${w.column}/${w.days}`, w])).values()];
  }
  return { marks, now: new Date(opts.now!).toISOString(), windows };
}

export async function autoClassify(deps: AppDeps, scope: AutoClassifyScope, batchType: BatchType, actor: AuthUser | null, opts: AutoClassifyOptions = {}): Promise<BatchResult> {
  if (scope.instanceId) {
    const inst = await deps.prisma.instance.findFirst({ where: { id: scope.instanceId, deletedAt: null }, select: { id: true } });
    if (!inst) throw new ValidationError('实例不存在', { errors: [{ field: 'instance_id', message: '实例不存在' }] });
  }
  const started = Date.now();
  const batchId = randomUUID();
  const errors: BatchResult['errors'] = [];
  await deps.prisma.classificationBatch.create({
    data: {
      batchId,
      batchType,
      status: 'running',
      scope: { instance_id: scope.instanceId ?? null, db_type: scope.dbType ?? null, ...(scope.instanceIds ? { instance_ids: scope.instanceIds } : {}) },
      createdBy: actor?.id ?? null,
    },
  });
  await opts.onStart?.(batchId);
  deps.logger.info({ module: 'account_classification', event: 'batch_started', batch_id: batchId, batch_type: batchType, instance_id: scope.instanceId ?? null, db_type: scope.dbType ?? null, actor_id: actor?.id ?? null }, '自动分类开始');

  const client = await deps.pool.connect();
  let readerClient: pg.PoolClient | null = null;
  let failed = false;
  try {
    await client.query('BEGIN');
    const { rows: lockRows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [LOCK_KEY]);
    if (!lockRows[0]!.ok) throw new ConflictError('已有自动分类批次在运行（或有账户删除尚未提交），请稍后再试');
    // One moment and one stale age for the whole batch: date conditions compare with the same "now".
    const evalOpts: EvalOptions = { now: started, staleDays: deps.config.staleAccountDays };
    // The batch's own assignment writes are its output, not a change of its input (the trigger
    // assignment_classify_mark leaves the accounts unmarked).
    await client.query(`SET LOCAL whalefall.auto_classify = 'on'`);
    // Every transaction older than this has ended, and everything it committed is seen by the reads
    // below: the next batch re-evaluates what changed from here on (classify_xid >= xmin).
    const { rows: snap } = await client.query<{ xmin: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin');
    const { rules, names } = await compiledRules(client, scope, errors, evalOpts);
    const byType = new Map<DbType, CompiledRule[]>();
    for (const r of rules) byType.set(r.dbType, [...(byType.get(r.dbType) ?? []), r]);
    const hashes = rulesHashes(byType, evalOpts);
    const pending = await pendingFor(client, scope, byType, hashes, evalOpts);

    const writes = await AssignmentWrites.open(client, batchId);
    // The embedded database serves one session at a time: a second connection would wait for this
    // transaction, so there the batch reads on its own connection, between its writes.
    if (!deps.embeddedDatabase) readerClient = await deps.pool.connect();
    const reader = readerClient ?? writes;
    // Only the columns the rules look at are read and parsed (type_specific, say, can be large).
    const fieldsByType = new Map([...byType].map(([t, rs]) => [t, new Set(rs.flatMap((r) => [...r.fields]))]));
    const columns = [...new Set([...fieldsByType].flatMap(([t, f]) => columnsFor(t, f)))];
    const readFacts = new Map([...fieldsByType].map(([t, f]) => [t, factsReader(t, f, evalOpts)]));

    // One pass over the accounts in scope, in id order: per account, the classifications it matches
    // with the first matching rule of each, compared at once with its active assignments (read in
    // the same order, walked in step), and the page's changes queued on the batch transaction: the
    // database writes them while the reader connection reads the next page and Node evaluates it
    // (the advisory lock keeps other batches out meanwhile).
    let totalAccounts = 0;
    let matchedAccounts = 0;
    let kept = 0;
    let removed = 0;
    const perClass = new Map<number, number>();
    const wait = { waitMs: 0 };
    const phases = { readMs: 0, evaluateMs: 0, writeMs: 0 };
    const t0 = performance.now();
    // The batch connection has nothing to write yet: it reads the active assignments while the
    // reader reads the first page.
    const currentP = readCurrentAssignments(writes, scope, pending);
    currentP.catch(() => {});
    const awaitCurrent = async () => {
      const c0 = performance.now();
      const current = await currentP;
      wait.waitMs += performance.now() - c0;
      return current;
    };
    let cursor = 0;
    /** Auto assignments of accounts before `accountId` that were not evaluated (deleted, out of the read): removed. */
    const skipTo = (current: CurrentAssignment[], accountId: number, toRemove: number[]) => {
      for (; cursor < current.length && current[cursor]!.accountId < accountId; cursor++) if (!current[cursor]!.manual) toRemove.push(current[cursor]!.id);
    };
    for await (const rows of accountPages(reader, scope, columns, wait, pending)) {
      if (writes.error) break;
      const current = await awaitCurrent();
      totalAccounts += rows.length;
      const toRemove: number[] = [];
      const toAdd: NewAssignment[] = [];
      for (const row of rows) {
        skipTo(current, row.id, toRemove);
        const typeRules = byType.get(row.db_type);
        const classes: number[] = [];
        const ruleIds: number[] = [];
        if (typeRules) {
          const facts = readFacts.get(row.db_type)!(row);
          for (const rule of typeRules) {
            if (classes.includes(rule.classificationId) || !rule.predicate(facts)) continue;
            classes.push(rule.classificationId);
            ruleIds.push(rule.id);
          }
        }
        // Its active assignments: an auto one is kept while it matches; any one (manual too) stands
        // for its classification, so no auto duplicate is added. Rules of a classification that is
        // inactive now, or of db types outside the scope, are not evaluated: only auto assignments
        // the batch could have produced are reconsidered.
        const held: number[] = [];
        for (; cursor < current.length && current[cursor]!.accountId === row.id; cursor++) {
          const s = current[cursor]!;
          held.push(s.classificationId);
          if (s.manual) continue;
          if (classes.includes(s.classificationId)) kept++;
          else toRemove.push(s.id);
        }
        if (classes.length) matchedAccounts++;
        classes.forEach((classificationId, i) => {
          perClass.set(classificationId, (perClass.get(classificationId) ?? 0) + 1);
          if (!held.includes(classificationId)) toAdd.push({ accountId: row.id, classificationId, ruleId: ruleIds[i]! });
        });
      }
      writes.deactivate(toRemove);
      writes.insert(toAdd);
      removed += toRemove.length;
    }
    const rest: number[] = [];
    skipTo(await awaitCurrent(), Infinity, rest);
    writes.deactivate(rest);
    removed += rest.length;
    const evaluatedAccounts = totalAccounts;
    if (pending) {
      const u = await unchangedFigures(reader, scope, pending);
      totalAccounts += u.accounts;
      matchedAccounts += u.matched;
      kept += u.assignments;
      for (const [c, n] of u.perClass) perClass.set(c, (perClass.get(c) ?? 0) + n);
    }
    const w0 = performance.now();
    phases.readMs = wait.waitMs;
    phases.evaluateMs = w0 - t0 - wait.waitMs;
    const { added } = await writes.finish();
    phases.writeMs = performance.now() - w0;
    const result: BatchResult = {
      batchId,
      totalAccounts,
      evaluatedAccounts,
      matchedAccounts,
      totalRules: rules.length,
      added,
      removed,
      kept,
      byClassification: [...perClass].map(([classificationId, n]) => ({ classificationId, name: names.get(classificationId) ?? '', matched: n })),
      errors,
      durationMs: Date.now() - started,
      phases: { readMs: Math.round(phases.readMs), evaluateMs: Math.round(phases.evaluateMs), writeMs: Math.round(phases.writeMs) },
    };
    await client.query(
      `UPDATE classification_batches SET status = 'completed', completed_at = now(), updated_at = now(), total_accounts = $2, matched_accounts = $3,
              failed_accounts = 0, total_rules = $4, active_rules = $4, batch_details = $5 WHERE batch_id = $1`,
      [batchId, totalAccounts, matchedAccounts, rules.length, JSON.stringify(detailsOf(result))],
    );
    const wParams: unknown[] = [snap[0]!.xmin, new Date(started).toISOString(), JSON.stringify(hashes), batchId];
    await client.query(
      `INSERT INTO classification_watermarks (instance_id, since_xid, evaluated_at, rules_hash, batch_id, updated_at)
       SELECT i.id, $1::xid8, $2::timestamptz, $3::jsonb ->> i.db_type, $4, now() FROM instances i WHERE ${instanceScopeSql(scope, wParams)}
       ON CONFLICT (instance_id) DO UPDATE
         SET since_xid = EXCLUDED.since_xid, evaluated_at = EXCLUDED.evaluated_at, rules_hash = EXCLUDED.rules_hash, batch_id = EXCLUDED.batch_id, updated_at = now()`,
      wParams,
    );
    await client.query('COMMIT');
    deps.metrics.classifyDuration.observe({ batch_type: batchType, outcome: 'completed' }, result.durationMs / 1000);
    deps.logger.info(
      { module: 'account_classification', event: 'batch_completed', batch_id: batchId, total_accounts: totalAccounts, evaluated_accounts: evaluatedAccounts, matched_accounts: result.matchedAccounts, added: result.added, removed: result.removed, duration_ms: result.durationMs, rule_errors: errors.length },
      `自动分类完成: ${totalAccounts} 个账户, ${result.matchedAccounts} 个匹配, 新增 ${result.added}, 移除 ${result.removed}`,
    );
    return result;
  } catch (err) {
    failed = true;
    await client.query('ROLLBACK').catch(() => {});
    await deps.prisma.classificationBatch
      .update({ where: { batchId }, data: { status: 'failed', completedAt: new Date(), errorMessage: (err as Error).message.slice(0, 2000) } })
      .catch(() => {});
    deps.metrics.classifyDuration.observe({ batch_type: batchType, outcome: 'failed' }, (Date.now() - started) / 1000);
    deps.logger.error({ module: 'account_classification', event: 'batch_failed', batch_id: batchId, err }, `自动分类失败: ${(err as Error).message}`);
    throw err;
  } finally {
    client.release();
    // After a failure the reader may still be running a prefetched page: closed rather than reused.
    readerClient?.release(failed);
  }
}

/** batch_details as SPEC §3.7 names it, plus what the fixes add. */
export function detailsOf(r: BatchResult) {
  return {
    total_accounts: r.totalAccounts,
    evaluated_accounts: r.evaluatedAccounts,
    total_rules: r.totalRules,
    classified_accounts: r.totalAccounts,
    matched_accounts: r.matchedAccounts,
    total_classifications_added: r.added,
    total_classifications_removed: r.removed,
    total_classifications_kept: r.kept,
    total_matches: r.byClassification.reduce((a, c) => a + c.matched, 0),
    by_classification: r.byClassification.map((c) => ({ classification_id: c.classificationId, classification_name: c.name, matched: c.matched })),
    failed_count: r.errors.length,
    errors: r.errors.map((e) => ({ rule_id: e.ruleId, error: e.error })),
    duration_ms: r.durationMs,
    phases_ms: { read: r.phases.readMs, evaluate: r.phases.evaluateMs, write: r.phases.writeMs },
  };
}
