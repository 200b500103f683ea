/**
 * Catalog rights the collector needs on a managed instance (issue #5 item 9). Each adapter checks,
 * on the connection it already has, every right its catalog queries depend on and reports them by
 * the name a DBA grants (`SELECT ON mysql.*`), so that a missing right is named instead of a sync
 * silently reading fewer accounts. The scripts in docs/collector/ create an account with exactly
 * these rights.
 *
 * - required: without it the catalog read would miss accounts or privileges (or fail half-way);
 *   a sync refuses to run and changes nothing (MissingRightsError).
 * - optional: without it one detail is unknown (e.g. PostgreSQL has_password stays null); the sync
 *   runs and says so in its log.
 */
import type { DbType } from './types.js';

export interface CollectorRight {
  /** The right as a DBA grants it, e.g. "SELECT ON mysql.*". */
  right: string;
  required: boolean;
  granted: boolean;
  /** What the adapter reads with it (Chinese, shown in the diagnostic). */
  purpose: string;
}

/** Where the documented least-privilege script of each engine lives (repository-relative). */
export const COLLECTOR_SCRIPTS: Record<DbType, string> = {
  postgresql: 'docs/collector/postgresql.sql',
  mysql: 'docs/collector/mysql.sql',
  sqlserver: 'docs/collector/sqlserver.sql',
  oracle: 'docs/collector/oracle.sql',
};

export const missingRequired = (rights: CollectorRight[]) => rights.filter((r) => r.required && !r.granted);
export const missingOptional = (rights: CollectorRight[]) => rights.filter((r) => !r.required && !r.granted);

/** One line naming what is missing, or null when nothing is. */
export function describeMissing(dbType: DbType, rights: CollectorRight[]): string | null {
  const req = missingRequired(rights);
  const opt = missingOptional(rights);
  const parts: string[] = [];
  if (req.length) parts.push(`采集账号缺少必需权限: ${req.map((r) => r.right).join('；')}（同步会被拒绝，不会修改任何账户）`);
  if (opt.length) parts.push(`缺少可选权限: ${opt.map((r) => `${r.right}（${r.purpose}）`).join('；')}`);
  return parts.length ? `${parts.join('；')}。授权脚本: ${COLLECTOR_SCRIPTS[dbType]}` : null;
}

/**
 * Thrown by fetchAccounts before any account is read when a required right is missing: the sync
 * fails that instance's record with this message and leaves every stored account as it was.
 */
export class MissingRightsError extends Error {
  constructor(
    readonly dbType: DbType,
    readonly rights: CollectorRight[],
  ) {
    super(describeMissing(dbType, rights) ?? '采集账号缺少必需权限');
  }

  get missing(): string[] {
    return missingRequired(this.rights).map((r) => r.right);
  }
}

/** Throws MissingRightsError when a required right is missing; returns the rights otherwise. */
export function assertRequiredRights(dbType: DbType, rights: CollectorRight[]): CollectorRight[] {
  if (missingRequired(rights).length) throw new MissingRightsError(dbType, rights);
  return rights;
}

/**
 * Runs a probe statement: true when it succeeds, false when the server refuses it for lack of a
 * right (`denied(err)`), any other error propagates (a broken connection is not a missing right).
 */
export async function probe(run: () => Promise<unknown>, denied: (err: unknown) => boolean): Promise<boolean> {
  try {
    await run();
    return true;
  } catch (err) {
    if (denied(err)) return false;
    throw err;
  }
}
