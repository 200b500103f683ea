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
  const byName = new Map(stored.map((s) => [s.username, s]));
  const counts: SnapshotCounts = { found: accounts.length, added: 0, modified: 0, removed: 0, restored: 0, unchanged: 0 };
  let added: PlannedChange[] = [];
  let updated: PlannedUpdate[] = [];
  let dateUpdates: Array<{ id: number; account: UnifiedAccount }> = [];
  for (const [username, account] of fresh) {
    const row = byName.get(username);
    if (!row) {
      added.push({ account, diff: diffFromNothing(account), message: '新增账户' });
      counts.added++;
      if (added.length >= chunk) {
        yield { kind: 'added', items: added };
        added = [];
      }
      continue;
    }
    const diff = diffAccount(row, account);
    if (row.isDeleted) {
      updated.push({ id: row.id, account, diff, changeType: 'restore', message: `账户已恢复; ${describeDiff(diff)}` });
      counts.restored++;
    } else if (!isEmptyDiff(diff)) {
      updated.push({ id: row.id, account, diff, changeType: changeTypeOf(diff), message: describeDiff(diff) });
      counts.modified++;
    } else {
      if (staleDatesChanged(row, account)) dateUpdates.push({ id: row.id, account });
      counts.unchanged++;
    }
    if (updated.length >= chunk) {
      yield { kind: 'updated', items: updated };
      updated = [];
    }
    if (dateUpdates.length >= chunk) {
      yield { kind: 'dateUpdates', items: dateUpdates };
      dateUpdates = [];
    }
  }
  if (updated.length) yield { kind: 'updated', items: updated };
  if (dateUpdates.length) yield { kind: 'dateUpdates', items: dateUpdates };
  // An empty snapshot more likely means the collector lost its rights than that every account was
  // dropped (SPEC §3.4 step 5): never mark everything deleted because of it.
  const vanished = fresh.size > 0 ? stored.filter((s) => !s.isDeleted && !fresh.has(s.username)).map((s) => s.id) : [];
  counts.removed = vanished.length;
  if (vanished.length) yield { kind: 'vanished', ids: vanished };
  if (added.length) yield { kind: 'added', items: added };
  return counts;
}
