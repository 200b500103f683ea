/**
 * What one sync must write, decided from the stored snapshot and the fresh one (pure, no I/O): new
 * accounts, changed ones (modified, or restored when they were soft-deleted), vanished ones, and
 * unchanged ones whose staleness dates moved. Unchanged accounts appear nowhere, so a no-change
 * re-sync plans no write at all.
 */
import type { UnifiedAccount } from '../../adapters/types.js';
import {
  changeTypeOf,
  describeDiff,
  diffAccount,
  diffFromNothing,
  isEmptyDiff,
  staleDatesChanged,
  type AccountDiff,
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

export type StoredRow = StoredAccount & StalenessDates & { id: number; username: string; isDeleted: boolean };

export interface PlannedChange {
  account: UnifiedAccount;
  diff: AccountDiff;
  message: string;
}

export interface PlannedUpdate extends PlannedChange {
  id: number;
  changeType: 'modify_privilege' | 'modify_other' | 'restore';
}

export interface SnapshotPlan {
  added: PlannedChange[];
  /** Modified and restored accounts, in snapshot order. */
  updated: PlannedUpdate[];
  /** Ids of stored, not deleted accounts missing from the snapshot. */
  vanished: number[];
  /** Unchanged accounts whose login/password dates moved: those columns only, no change-log row. */
  dateUpdates: Array<{ id: number; account: UnifiedAccount }>;
  counts: SnapshotCounts;
}

/** A part of the plan, handed out as soon as it is complete (see planSnapshotInSteps). */
export type PlanStep =
  | { kind: 'updated'; items: PlannedUpdate[] }
  | { kind: 'dateUpdates'; items: Array<{ id: number; account: UnifiedAccount }> }
  | { kind: 'vanished'; ids: number[] }
  | { kind: 'added'; items: PlannedChange[] };

export function planSnapshot(stored: StoredRow[], accounts: UnifiedAccount[]): SnapshotPlan {
  const plan: SnapshotPlan = { added: [], updated: [], vanished: [], dateUpdates: [], counts: undefined as unknown as SnapshotCounts };
  const steps = planSnapshotInSteps(stored, accounts, Infinity);
  for (let next = steps.next(); ; next = steps.next()) {
    if (next.done) {
      plan.counts = next.value;
      return plan;
    }
    const step = next.value;
    if (step.kind === 'vanished') plan.vanished.push(...step.ids);
    else (plan[step.kind] as unknown[]).push(...step.items);
  }
}

/**
 * The same plan, in parts of at most `chunk` entries: a list is handed out whenever it fills up, so
 * that the writer can send it to the database while the rest is still being planned. What is left
 * comes last, in the order updated, dateUpdates, vanished, added. Returns the counts.
 */
export function* planSnapshotInSteps(stored: StoredRow[], accounts: UnifiedAccount[], chunk: number): Generator<PlanStep, SnapshotCounts> {
  const fresh = new Map<string, UnifiedAccount>();
  for (const a of accounts) fresh.set(a.username, a); // engines never report duplicates; last wins if one did
  const planner = new SnapshotPlanner(stored, chunk);
  yield* planner.add([...fresh.values()]);
  const counts = yield* planner.finish();
  return { ...counts, found: accounts.length };
}

/**
 * The plan built as the fresh accounts arrive, in batches (an adapter that reads in parts hands each
 * one over as it completes): `add` yields the parts each batch completes, `finish` the rest once the
 * read has ended (only then is it known which stored accounts vanished). A username seen again in a
 * later batch is ignored (engines never report duplicates).
 */
export class SnapshotPlanner {
  private readonly byName: Map<string, StoredRow>;
  private readonly seen = new Set<string>();
  private readonly counts: SnapshotCounts = { found: 0, added: 0, modified: 0, removed: 0, restored: 0, unchanged: 0 };
  private added: PlannedChange[] = [];
  private updated: PlannedUpdate[] = [];
  private dateUpdates: Array<{ id: number; account: UnifiedAccount }> = [];

  constructor(
    private readonly stored: StoredRow[],
    private readonly chunk: number,
  ) {
    this.byName = new Map(stored.map((s) => [s.username, s]));
  }

  *add(accounts: UnifiedAccount[]): Generator<PlanStep> {
    const { counts, chunk } = this;
    for (const account of accounts) {
      if (this.seen.has(account.username)) continue;
      this.seen.add(account.username);
      counts.found++;
      const row = this.byName.get(account.username);
      if (!row) {
        this.added.push({ account, diff: diffFromNothing(account), message: '新增账户' });
        counts.added++;
        if (this.added.length >= chunk) {
          yield { kind: 'added', items: this.added };
          this.added = [];
        }
        continue;
      }
      const diff = diffAccount(row, account);
      if (row.isDeleted) {
        this.updated.push({ id: row.id, account, diff, changeType: 'restore', message: `账户已恢复; ${describeDiff(diff)}` });
        counts.restored++;
      } else if (!isEmptyDiff(diff)) {
        this.updated.push({ id: row.id, account, diff, changeType: changeTypeOf(diff), message: describeDiff(diff) });
        counts.modified++;
      } else {
        if (staleDatesChanged(row, account)) this.dateUpdates.push({ id: row.id, account });
        counts.unchanged++;
      }
      if (this.updated.length >= chunk) {
        yield { kind: 'updated', items: this.updated };
        this.updated = [];
      }
      if (this.dateUpdates.length >= chunk) {
        yield { kind: 'dateUpdates', items: this.dateUpdates };
        this.dateUpdates = [];
      }
    }
  }

  *finish(): Generator<PlanStep, SnapshotCounts> {
    if (this.updated.length) yield { kind: 'updated', items: this.updated };
    if (this.dateUpdates.length) yield { kind: 'dateUpdates', items: this.dateUpdates };
    // An empty snapshot more likely means the collector lost its rights than that every account was
    // dropped (SPEC §3.4 step 5): never mark everything deleted because of it.
    const vanished = this.seen.size > 0 ? this.stored.filter((s) => !s.isDeleted && !this.seen.has(s.username)).map((s) => s.id) : [];
    this.counts.removed = vanished.length;
    if (vanished.length) yield { kind: 'vanished', ids: vanished };
    if (this.added.length) yield { kind: 'added', items: this.added };
    this.updated = [];
    this.dateUpdates = [];
    this.added = [];
    return { ...this.counts };
  }
}
