/**
 * The seam between alert rules and privilege baselines. Rules of kind `privilege_outside_baseline`
 * ask this module which of a sync's grants the instance's baseline does not allow.
 *
 * Common language: the canonical privilege lines (privilege-lines.ts), which is what a baseline
 * stores per account. For each change of the sync, the lines THIS CHANGE ADDED are worked out and
 * the ones missing from the baseline's lines for that account are reported (an account absent from
 * the baseline allows nothing, so all its added lines are reported):
 *
 * - `add` / `restore`: the account did not exist (any more) before this sync, so everything it holds
 *   was granted by this change: its current lines (the stored row, which the sync has just written;
 *   evaluation runs after the commit, under the instance's sync lock). The row is read instead of the
 *   diff because an `add` diff leaves out MySQL table privileges and roles (type_specific).
 * - `modify_privilege` / `modify_other`: the diff's `added` side turned into lines, minus the lines its
 *   `removed` side gives. For list and scoped columns the removed side never overlaps, so this is the
 *   added items; for map columns (PostgreSQL role_attributes, MySQL type_specific with its
 *   table_privileges and roles) a changed key carries its whole new value on the added side and its
 *   whole old value on the removed side, and the difference is exactly the new lines.
 *   (The alternative, current lines minus baseline lines restricted to "lines this change added",
 *   needs those same added lines, so it would only add a read.)
 * - `delete`: nothing granted.
 *
 * Only added lines count: a line that was already outside the baseline before this change raised its
 * alert when it was granted (or is drift the DBA has seen), and must not alert again at every later
 * change of the account. The baseline is read at each evaluation, so a line accepted into it
 * (drift accept) no longer alerts when it is granted again later. No baseline: [] (never fires).
 */
import type { AppDeps } from '../../deps.js';
import { privilegeEntries, privilegeLines, type PrivilegeEntry, type PrivilegeSource } from '../accounts/privilege-lines.js';
import { linesOf, PRIVILEGE_SELECT } from '../drift/drift-service.js';
import type { AlertChange, Grant } from './rules.js';

/** A change whose grants the instance's baseline does not allow. */
export interface BaselineViolation {
  changeLogId: number;
  grants: Grant[];
}

/** Diff keys (snake_case, change-detection.ts) → the account column privilege-lines.ts reads. */
const DIFF_COLUMNS: Record<string, keyof PrivilegeSource> = {
  global_privileges: 'globalPrivileges',
  database_privileges: 'databasePrivileges',
  predefined_roles: 'predefinedRoles',
  role_attributes: 'roleAttributes',
  database_privileges_pg: 'databasePrivilegesPg',
  tablespace_privileges: 'tablespacePrivileges',
  server_roles: 'serverRoles',
  server_permissions: 'serverPermissions',
  database_roles: 'databaseRoles',
  database_permissions: 'databasePermissions',
  oracle_roles: 'oracleRoles',
  system_privileges: 'systemPrivileges',
  tablespace_privileges_oracle: 'tablespacePrivilegesOracle',
  type_specific: 'typeSpecific',
};

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** One side of a change's diffs (privilege and other) as account columns. is_superuser has no line. */
function diffSide(diffs: unknown[], side: 'added' | 'removed'): PrivilegeSource {
  const src: Record<string, unknown> = {};
  for (const d of diffs) {
    if (!isObj(d)) continue;
    for (const [key, v] of Object.entries(d)) {
      const column = DIFF_COLUMNS[key];
      if (column && isObj(v) && side in v) src[column] = v[side];
    }
  }
  return src as PrivilegeSource;
}

/** The canonical lines a modification added (see the top of this file). Pure. */
export function linesAddedByDiff(dbType: string, privilegeDiff: unknown, otherDiff: unknown): PrivilegeEntry[] {
  const removed = new Set(privilegeLines(dbType, diffSide([privilegeDiff, otherDiff], 'removed')));
  return privilegeEntries(dbType, diffSide([privilegeDiff, otherDiff], 'added')).filter((e) => !removed.has(e.line));
}

/** The added lines the baseline does not allow for the account (`undefined`: not in the baseline, allows nothing). Pure. */
export function outsideBaseline(added: PrivilegeEntry[], allowed: string[] | undefined): Grant[] {
  const ok = new Set(allowed ?? []);
  return added
    .filter((e) => !ok.has(e.line))
    .map((e) => ({ field: e.kind, ...(e.scope !== undefined ? { scope: e.scope } : {}), privilege: e.name, line: e.line }));
}

const WHOLE_ACCOUNT = new Set(['add', 'restore']);
const MODIFIED = new Set(['modify_privilege', 'modify_other']);

export async function privilegesOutsideBaseline(deps: AppDeps, instanceId: number, changes: AlertChange[]): Promise<BaselineViolation[]> {
  const granting = changes.filter((c) => WHOLE_ACCOUNT.has(c.changeType) || MODIFIED.has(c.changeType));
  if (granting.length === 0) return [];
  const usernames = [...new Set(granting.map((c) => c.username))];
  const baseline = await deps.prisma.baseline.findUnique({
    where: { instanceId },
    select: { dbType: true, accounts: { where: { username: { in: usernames } }, select: { username: true, privileges: true } } },
  });
  if (!baseline) return [];
  const allowed = new Map(baseline.accounts.map((a) => [a.username, linesOf(a.privileges)]));

  const whole = [...new Set(granting.filter((c) => WHOLE_ACCOUNT.has(c.changeType)).map((c) => c.username))];
  const rows = whole.length
    ? await deps.prisma.currentAccount.findMany({ where: { instanceId, dbType: baseline.dbType, isDeleted: false, username: { in: whole } }, select: PRIVILEGE_SELECT })
    : [];
  const current = new Map(rows.map((r) => [r.username, privilegeEntries(baseline.dbType, r)]));

  const out: BaselineViolation[] = [];
  for (const c of granting) {
    const added = WHOLE_ACCOUNT.has(c.changeType) ? (current.get(c.username) ?? []) : linesAddedByDiff(baseline.dbType, c.privilegeDiff, c.otherDiff);
    const grants = outsideBaseline(added, allowed.get(c.username));
    if (grants.length) out.push({ changeLogId: c.id, grants });
  }
  return out;
}
