/**
 * Baselines and drift: a DBA freezes an instance's accounts and canonical privilege lines (or those
 * of every instance carrying a tag, at once); every sync of an instance with a baseline compares the
 * synced accounts with it, stores the report on the baseline and logs a summary (module `drift`)
 * when there is drift; accepting drift items moves the baseline to reality for those items, logged
 * with the acting user. Reality is the stored, non-deleted accounts: they change only through a sync.
 */
import { randomUUID } from 'node:crypto';
import type { AppDeps } from '../../deps.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { ResourceNotFoundError, ValidationError } from '../../lib/errors.js';
import { compareText, privilegeLines } from '../accounts/privilege-lines.js';
import { applyAccepted, computeDrift, itemKey, summarize, type AcceptItem, type AccountLines, type DriftItem, type DriftSummary } from './drift.js';

type Db = Prisma.TransactionClient | AppDeps['prisma'];

/** The privilege columns privilegeLines() reads. */
export const PRIVILEGE_SELECT = {
  username: true,
  globalPrivileges: true,
  databasePrivileges: true,
  predefinedRoles: true,
  roleAttributes: true,
  databasePrivilegesPg: true,
  tablespacePrivileges: true,
  serverRoles: true,
  serverPermissions: true,
  databaseRoles: true,
  databasePermissions: true,
  oracleRoles: true,
  systemPrivileges: true,
  tablespacePrivilegesOracle: true,
  typeSpecific: true,
} satisfies Prisma.CurrentAccountSelect;

/** Reality: the instance's non-deleted accounts → their canonical lines. */
export async function currentLines(db: Db, instance: { id: number; dbType: string }): Promise<AccountLines> {
  const rows = await db.currentAccount.findMany({ where: { instanceId: instance.id, dbType: instance.dbType, isDeleted: false }, select: PRIVILEGE_SELECT });
  return new Map(rows.map((r) => [r.username, privilegeLines(instance.dbType, r)]));
}

async function liveInstance(db: Db, id: number) {
  const i = await db.instance.findFirst({ where: { id, deletedAt: null }, select: { id: true, name: true, dbType: true, lastSyncAt: true } });
  if (!i) throw new ResourceNotFoundError('实例不存在', { instance_id: id });
  return i;
}

export const BASELINE_INCLUDE = {
  accounts: { orderBy: { username: 'asc' } },
  instance: { select: { id: true, name: true, dbType: true } },
  freezer: { select: { id: true, username: true } },
  acceptor: { select: { id: true, username: true } },
} satisfies Prisma.BaselineInclude;
export type BaselineRow = Prisma.BaselineGetPayload<{ include: typeof BASELINE_INCLUDE }>;

export const linesOf = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
const baselineLines = (accounts: Array<{ username: string; privileges: unknown }>): AccountLines => new Map(accounts.map((a) => [a.username, linesOf(a.privileges)]));

/** What is stored in baselines.last_report and returned by the drift report. */
export interface StoredReport {
  summary: DriftSummary;
  items: DriftItem[];
}

export interface DriftReport extends StoredReport {
  instanceId: number;
  instanceName: string;
  dbType: string;
  baselineId: number;
  frozenAt: Date;
  frozenBy: number | null;
  tagName: string | null;
  hasDrift: boolean;
  /** When the last sync (or freeze/accept) compared reality with the baseline, and in which sync session. */
  lastCheckedAt: Date | null;
  lastSessionId: string | null;
}

function reportOf(items: DriftItem[]): StoredReport {
  return { summary: summarize(items), items };
}

/** Freezes one instance inside a transaction: replaces any earlier baseline of it. */
async function freezeOne(
  tx: Prisma.TransactionClient,
  instance: { id: number; dbType: string },
  actorId: number,
  group: { groupId: string; tagId: number | null; tagName: string | null },
  now: Date,
): Promise<number> {
  const lines = await currentLines(tx, instance);
  await tx.baseline.deleteMany({ where: { instanceId: instance.id } });
  const b = await tx.baseline.create({
    data: {
      instanceId: instance.id,
      dbType: instance.dbType,
      tagId: group.tagId,
      tagName: group.tagName,
      groupId: group.groupId,
      frozenBy: actorId,
      frozenAt: now,
      lastReport: reportOf([]) as unknown as Prisma.InputJsonValue,
      lastCheckedAt: now,
    },
  });
  const accounts = [...lines].sort(([a], [b]) => compareText(a, b));
  if (accounts.length) await tx.baselineAccount.createMany({ data: accounts.map(([username, privileges]) => ({ baselineId: b.id, username, privileges })) });
  return b.id;
}

function requireSynced(instances: Array<{ id: number; name: string; lastSyncAt: Date | null }>): void {
  const never = instances.filter((i) => !i.lastSyncAt);
  if (never.length) {
    throw new ValidationError('实例尚未同步账户，无法冻结基线：请先同步', { instance_ids: never.map((i) => i.id), instance_names: never.map((i) => i.name) }, 422);
  }
}

/** Freezes the instance's current accounts and privileges as its baseline (replacing an earlier one). */
export async function freezeInstance(deps: AppDeps, actorId: number, instanceId: number): Promise<BaselineRow[]> {
  const instance = await liveInstance(deps.prisma, instanceId);
  requireSynced([instance]);
  const groupId = randomUUID();
  const now = new Date();
  const id = await deps.prisma.$transaction((tx) => freezeOne(tx, instance, actorId, { groupId, tagId: null, tagName: null }, now), { timeout: 60_000 });
  const b = await deps.prisma.baseline.findUniqueOrThrow({ where: { id }, include: BASELINE_INCLUDE });
  deps.logger.info(
    { module: 'drift', user_id: actorId, instance_id: instanceId, baseline_id: id, group_id: groupId, accounts: b.accounts.length },
    `基线已冻结: 实例 ${instance.name}，${b.accounts.length} 个账户`,
  );
  return [b];
}

/** Freezes every active instance carrying the tag, together (one transaction, one group id, the tag recorded). */
export async function freezeTag(deps: AppDeps, actorId: number, tagName: string): Promise<BaselineRow[]> {
  const tag = await deps.prisma.tag.findUnique({ where: { name: tagName }, select: { id: true, name: true } });
  if (!tag) throw new ResourceNotFoundError('标签不存在', { tag: tagName });
  const instances = await deps.prisma.instance.findMany({
    where: { deletedAt: null, isActive: true, tags: { some: { tagId: tag.id } } },
    select: { id: true, name: true, dbType: true, lastSyncAt: true },
    orderBy: { id: 'asc' },
  });
  if (instances.length === 0) throw new ValidationError('该标签下没有启用的实例', { tag: tagName }, 422);
  requireSynced(instances);
  const groupId = randomUUID();
  const now = new Date();
  const ids = await deps.prisma.$transaction(
    async (tx) => {
      const out: number[] = [];
      for (const i of instances) out.push(await freezeOne(tx, i, actorId, { groupId, tagId: tag.id, tagName: tag.name }, now));
      return out;
    },
    { timeout: 120_000 },
  );
  const rows = await deps.prisma.baseline.findMany({ where: { id: { in: ids } }, include: BASELINE_INCLUDE, orderBy: { instanceId: 'asc' } });
  deps.logger.info(
    { module: 'drift', user_id: actorId, tag: tag.name, group_id: groupId, instance_ids: instances.map((i) => i.id), baseline_ids: ids },
    `基线已按标签冻结: ${tag.name}，${instances.length} 个实例`,
  );
  return rows;
}

export async function getBaseline(deps: AppDeps, instanceId: number): Promise<BaselineRow> {
  await liveInstance(deps.prisma, instanceId);
  const b = await deps.prisma.baseline.findUnique({ where: { instanceId }, include: BASELINE_INCLUDE });
  if (!b) throw new ResourceNotFoundError('该实例没有基线，请先冻结基线', { instance_id: instanceId, reason: 'no_baseline' });
  return b;
}

/** The drift of the instance now: its baseline against its synced accounts. */
export async function driftReport(deps: AppDeps, instanceId: number): Promise<DriftReport> {
  const b = await getBaseline(deps, instanceId);
  const items = computeDrift(baselineLines(b.accounts), await currentLines(deps.prisma, b.instance));
  return toReport(b, items);
}

function toReport(b: Omit<BaselineRow, 'accounts'>, items: DriftItem[]): DriftReport {
  return {
    instanceId: b.instanceId,
    instanceName: b.instance.name,
    dbType: b.dbType,
    baselineId: b.id,
    frozenAt: b.frozenAt,
    frozenBy: b.frozenBy,
    tagName: b.tagName,
    hasDrift: items.length > 0,
    ...reportOf(items),
    lastCheckedAt: b.lastCheckedAt,
    lastSessionId: b.lastSessionId,
  };
}

/**
 * Accepts items of the instance's current drift: the baseline takes reality for them. Every item
 * must be in the current drift (else 400, nothing changes). The baseline row is locked meanwhile,
 * so concurrent accepts apply one after the other.
 */
export async function acceptDrift(deps: AppDeps, actorId: number, instanceId: number, accepted: AcceptItem[]): Promise<DriftReport> {
  const instance = await liveInstance(deps.prisma, instanceId);
  const now = new Date();
  const result = await deps.prisma.$transaction(
    async (tx) => {
      const locked = await tx.$queryRaw<Array<{ id: number }>>`SELECT id FROM baselines WHERE instance_id = ${instanceId} FOR UPDATE`;
      if (!locked[0]) throw new ResourceNotFoundError('该实例没有基线，请先冻结基线', { instance_id: instanceId, reason: 'no_baseline' });
      const baselineId = locked[0].id;
      const frozen = await tx.baselineAccount.findMany({ where: { baselineId } });
      const before = baselineLines(frozen);
      const reality = await currentLines(tx, instance);
      const items = computeDrift(before, reality);
      const present = new Set(items.map(itemKey));
      const errors = accepted.flatMap((a, i) => (present.has(itemKey(a)) ? [] : [{ field: `items.${i}`, message: '不是该实例当前漂移报告中的条目' }]));
      if (errors.length) throw new ValidationError('接受的条目不在当前漂移报告中', { errors });
      const after = applyAccepted(before, items, accepted);
      const gone = [...before.keys()].filter((u) => !after.has(u));
      if (gone.length) await tx.baselineAccount.deleteMany({ where: { baselineId, username: { in: gone } } });
      for (const [username, lines] of after) {
        const old = before.get(username);
        if (old && old.length === lines.length && old.every((l, i) => l === lines[i])) continue;
        await tx.baselineAccount.upsert({ where: { baselineId_username: { baselineId, username } }, create: { baselineId, username, privileges: lines }, update: { privileges: lines } });
      }
      const remaining = computeDrift(after, reality);
      await tx.baseline.update({
        where: { id: baselineId },
        data: { acceptedBy: actorId, acceptedAt: now, lastReport: reportOf(remaining) as unknown as Prisma.InputJsonValue, lastCheckedAt: now },
      });
      const applied = accepted.map((a) => items.find((i) => itemKey(i) === itemKey(a))!);
      return { baselineId, remaining, applied };
    },
    { timeout: 60_000 },
  );
  // Read after commit: relation loads inside the transaction would share its one connection.
  const b = await deps.prisma.baseline.findUniqueOrThrow({ where: { id: result.baselineId }, include: { instance: { select: { id: true, name: true, dbType: true } }, freezer: { select: { id: true, username: true } }, acceptor: { select: { id: true, username: true } } } });
  deps.logger.info(
    {
      module: 'drift',
      user_id: actorId,
      instance_id: instanceId,
      baseline_id: b.id,
      accepted: result.applied.map((i) => ({ kind: i.kind, account: i.account, privilege: i.privilege })),
      remaining: result.remaining.length,
    },
    `漂移条目已接受: 实例 ${instance.name}，${result.applied.length} 条，剩余 ${result.remaining.length} 条`,
  );
  return toReport(b, result.remaining);
}

/** Items named in the sync's log entry (the full report is on the baseline and behind the API). */
const LOGGED_ITEMS = 20;

/**
 * After a sync of the instance completed: compares it with its baseline (if any), stores the report
 * and logs a summary when there is drift. Never throws: drift must not fail a sync.
 */
export async function checkDriftAfterSync(deps: AppDeps, instanceId: number, sessionId: string): Promise<void> {
  try {
    const b = await deps.prisma.baseline.findUnique({ where: { instanceId }, include: { accounts: true, instance: { select: { id: true, name: true, dbType: true } } } });
    if (!b) return;
    const items = computeDrift(baselineLines(b.accounts), await currentLines(deps.prisma, b.instance));
    const report = reportOf(items);
    await deps.prisma.baseline.update({ where: { id: b.id }, data: { lastReport: report as unknown as Prisma.InputJsonValue, lastCheckedAt: new Date(), lastSessionId: sessionId } });
    if (items.length === 0) return;
    const s = report.summary;
    deps.logger.warn(
      {
        module: 'drift',
        instance_id: instanceId,
        session_id: sessionId,
        baseline_id: b.id,
        summary: { extra_accounts: s.extraAccounts, missing_accounts: s.missingAccounts, extra_privileges: s.extraPrivileges, missing_privileges: s.missingPrivileges, total: s.total },
        items: items.slice(0, LOGGED_ITEMS).map((i) => ({ kind: i.kind, account: i.account, privilege: i.privilege })),
      },
      `检测到权限漂移: 实例 ${b.instance.name}，多出账户 ${s.extraAccounts}，缺失账户 ${s.missingAccounts}，多出权限 ${s.extraPrivileges}，缺失权限 ${s.missingPrivileges}`,
    );
  } catch (err) {
    deps.logger.warn({ module: 'drift', instance_id: instanceId, session_id: sessionId, error: (err as Error).message }, `同步后漂移检查失败: ${(err as Error).message}`);
  }
}
