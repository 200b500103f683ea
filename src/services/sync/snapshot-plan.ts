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

export function planSnapshot(stored: StoredRow[], accounts: UnifiedAccount[]): SnapshotPlan {
  const fresh = new Map<string, UnifiedAccount>();
  for (const a of accounts) fresh.set(a.username, a); // engines never report duplicates; last wins if one did
  const byName = new Map(stored.map((s) => [s.username, s]));
  const plan: SnapshotPlan = {
    added: [],
    updated: [],
    vanished: [],
    dateUpdates: [],
    counts: { found: accounts.length, added: 0, modified: 0, removed: 0, restored: 0, unchanged: 0 },
  };
  const { counts } = plan;
  for (const [username, account] of fresh) {
    const row = byName.get(username);
    if (!row) {
      plan.added.push({ account, diff: diffFromNothing(account), message: '新增账户' });
      counts.added++;
      continue;
    }
    const diff = diffAccount(row, account);
    if (row.isDeleted) {
      plan.updated.push({ id: row.id, account, diff, changeType: 'restore', message: `账户已恢复; ${describeDiff(diff)}` });
      counts.restored++;
    } else if (!isEmptyDiff(diff)) {
      plan.updated.push({ id: row.id, account, diff, changeType: changeTypeOf(diff), message: describeDiff(diff) });
      counts.modified++;
    } else {
      if (staleDatesChanged(row, account)) plan.dateUpdates.push({ id: row.id, account });
      counts.unchanged++;
    }
  }
  // An empty snapshot more likely means the collector lost its rights than that every account was
  // dropped (SPEC §3.4 step 5): never mark everything deleted because of it.
  if (fresh.size > 0) plan.vanished = stored.filter((s) => !s.isDeleted && !fresh.has(s.username)).map((s) => s.id);
  counts.removed = plan.vanished.length;
  return plan;
}
