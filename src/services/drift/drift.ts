/**
 * Drift between a frozen baseline and reality, both as account → canonical privilege lines
 * (privilege-lines.ts). Pure: no I/O; the result is sorted, so the same state gives the same report.
 */
import { compareText } from '../accounts/privilege-lines.js';

export const DRIFT_KINDS = ['extra_account', 'missing_account', 'extra_privilege', 'missing_privilege'] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

export interface DriftItem {
  kind: DriftKind;
  /** Account identity (MySQL user@host, otherwise the login/role/user name). */
  account: string;
  /** The privilege line (privilege items only). */
  privilege: string | null;
  /** The account's lines: reality for an extra account, the baseline for a missing one; [] for privilege items. */
  privileges: string[];
}

export interface DriftSummary {
  extraAccounts: number;
  missingAccounts: number;
  extraPrivileges: number;
  missingPrivileges: number;
  total: number;
}

/** account → lines. */
export type AccountLines = Map<string, string[]>;

const KIND_ORDER: Record<DriftKind, number> = { extra_account: 0, missing_account: 1, extra_privilege: 2, missing_privilege: 3 };

export function compareItems(a: DriftItem, b: DriftItem): number {
  return compareText(a.account, b.account) || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || compareText(a.privilege ?? '', b.privilege ?? '');
}

/** Extra and missing accounts, and extra and missing privileges of accounts present on both sides. */
export function computeDrift(baseline: AccountLines, reality: AccountLines): DriftItem[] {
  const items: DriftItem[] = [];
  const sorted = (l: string[]) => [...new Set(l)].sort(compareText);
  for (const [account, lines] of reality) {
    const frozen = baseline.get(account);
    if (!frozen) {
      items.push({ kind: 'extra_account', account, privilege: null, privileges: sorted(lines) });
      continue;
    }
    const f = new Set(frozen);
    const r = new Set(lines);
    for (const l of r) if (!f.has(l)) items.push({ kind: 'extra_privilege', account, privilege: l, privileges: [] });
    for (const l of f) if (!r.has(l)) items.push({ kind: 'missing_privilege', account, privilege: l, privileges: [] });
  }
  for (const [account, lines] of baseline) {
    if (!reality.has(account)) items.push({ kind: 'missing_account', account, privilege: null, privileges: sorted(lines) });
  }
  return items.sort(compareItems);
}

export function summarize(items: DriftItem[]): DriftSummary {
  const n = (k: DriftKind) => items.filter((i) => i.kind === k).length;
  return { extraAccounts: n('extra_account'), missingAccounts: n('missing_account'), extraPrivileges: n('extra_privilege'), missingPrivileges: n('missing_privilege'), total: items.length };
}

/** What a DBA accepts: an item as the report shows it (privileges of account items are not needed). */
export interface AcceptItem {
  kind: DriftKind;
  account: string;
  privilege?: string | null;
}

export const itemKey = (i: { kind: DriftKind; account: string; privilege?: string | null }) => JSON.stringify([i.kind, i.account, i.kind.endsWith('_privilege') ? (i.privilege ?? '') : '']);

/**
 * The baseline after accepting items of the current drift: an extra account joins the baseline with
 * its current lines, a missing account leaves it, an extra privilege is added and a missing one
 * removed. Items must come from `current` (the caller checks); the input maps are not modified.
 */
export function applyAccepted(baseline: AccountLines, current: DriftItem[], accepted: AcceptItem[]): AccountLines {
  const next: AccountLines = new Map([...baseline].map(([k, v]) => [k, [...v]]));
  const byKey = new Map(current.map((i) => [itemKey(i), i]));
  for (const a of accepted) {
    const item = byKey.get(itemKey(a));
    if (!item) continue;
    switch (item.kind) {
      case 'extra_account':
        next.set(item.account, [...item.privileges]);
        break;
      case 'missing_account':
        next.delete(item.account);
        break;
      case 'extra_privilege': {
        const lines = next.get(item.account);
        if (lines && !lines.includes(item.privilege!)) lines.push(item.privilege!);
        break;
      }
      case 'missing_privilege': {
        const lines = next.get(item.account);
        if (lines) next.set(item.account, lines.filter((l) => l !== item.privilege));
        break;
      }
    }
  }
  for (const [k, v] of next) next.set(k, [...new Set(v)].sort(compareText));
  return next;
}

/** Header of the drift CSV export. */
export const DRIFT_CSV_HEADER = ['kind', 'account', 'privilege', 'account_privileges'] as const;

/** Rows of the drift CSV: one per item; account items list the account's lines joined by "; ". */
export function driftCsvRows(items: DriftItem[]): string[][] {
  return items.map((i) => [i.kind, i.account, i.privilege ?? '', i.privileges.join('; ')]);
}
