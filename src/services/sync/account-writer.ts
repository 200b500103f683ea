/**
 * Writes one instance's fresh account snapshot against the stored one, in ONE transaction: inserts
 * new accounts, revives soft-deleted ones that reappear, updates changed ones, soft-deletes vanished
 * ones, and appends a change-log row for each. Unchanged accounts cause no write at all, so a
 * no-change re-sync writes nothing. A failure rolls everything back: the previous state stays.
 */
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';
import type { UnifiedAccount } from '../../adapters/types.js';
import { changeTypeOf, describeDiff, diffAccount, diffFromNothing, isEmptyDiff, type AccountDiff, type ChangeType, type StoredAccount } from '../accounts/change-detection.js';

export interface SnapshotCounts {
  found: number;
  added: number;
  modified: number;
  removed: number;
  restored: number;
  unchanged: number;
}

/** Column values of an account row from the unified snapshot (JSON columns null when not set). */
function columnsOf(a: UnifiedAccount) {
  const json = (v: unknown) => (v === undefined || v === null ? undefined : (v as Prisma.InputJsonValue));
  return {
    host: a.host ?? null,
    isSuperuser: a.isSuperuser,
    isActive: a.isActive,
    isLocked: a.isLocked,
    globalPrivileges: json(a.globalPrivileges),
    databasePrivileges: json(a.databasePrivileges),
    predefinedRoles: json(a.predefinedRoles),
    roleAttributes: json(a.roleAttributes),
    databasePrivilegesPg: json(a.databasePrivilegesPg),
    tablespacePrivileges: json(a.tablespacePrivileges),
    serverRoles: json(a.serverRoles),
    serverPermissions: json(a.serverPermissions),
    databaseRoles: json(a.databaseRoles),
    databasePermissions: json(a.databasePermissions),
    oracleRoles: json(a.oracleRoles),
    systemPrivileges: json(a.systemPrivileges),
    tablespacePrivilegesOracle: json(a.tablespacePrivilegesOracle),
    typeSpecific: json(a.typeSpecific) ?? {},
  };
}

interface LogRow {
  accountId: number | null;
  username: string;
  changeType: ChangeType;
  diff: AccountDiff;
}

/** Rows per INSERT; keeps statements well under PostgreSQL's bind-parameter limit. */
const INSERT_CHUNK = 1000;

export async function applySnapshot(
  prisma: PrismaClient,
  instance: { id: number; dbType: string },
  accounts: UnifiedAccount[],
  sessionId: string,
  now = new Date(),
): Promise<SnapshotCounts> {
  const counts: SnapshotCounts = { found: accounts.length, added: 0, modified: 0, removed: 0, restored: 0, unchanged: 0 };
  const fresh = new Map<string, UnifiedAccount>();
  for (const a of accounts) fresh.set(a.username, a); // engines never report duplicates; last wins if one did

  await prisma.$transaction(
    async (tx) => {
      const stored = await tx.currentAccount.findMany({ where: { instanceId: instance.id, dbType: instance.dbType } });
      const byName = new Map(stored.map((s) => [s.username, s]));
      const logs: LogRow[] = [];
      const inserts: Array<{ username: string; a: UnifiedAccount }> = [];

      for (const [username, a] of fresh) {
        const row = byName.get(username);
        if (!row) {
          inserts.push({ username, a });
          continue;
        }
        const diff = diffAccount(row as unknown as StoredAccount, a);
        if (row.isDeleted) {
          await tx.currentAccount.update({
            where: { id: row.id },
            data: { ...columnsOf(a), isDeleted: false, deletedTime: null, lastChangeType: 'restore', lastChangeTime: now, lastSyncTime: now, sessionId },
          });
          logs.push({ accountId: row.id, username, changeType: 'restore', diff });
          counts.restored++;
        } else if (!isEmptyDiff(diff)) {
          const changeType = changeTypeOf(diff);
          await tx.currentAccount.update({
            where: { id: row.id },
            data: { ...columnsOf(a), lastChangeType: changeType, lastChangeTime: now, lastSyncTime: now, sessionId },
          });
          logs.push({ accountId: row.id, username, changeType, diff });
          counts.modified++;
        } else {
          counts.unchanged++;
        }
      }

      // An empty snapshot more likely means the collector lost its rights than that every account
      // was dropped (SPEC §3.4 step 5): never mark everything deleted because of it.
      if (fresh.size > 0) {
        const vanished = stored.filter((s) => !s.isDeleted && !fresh.has(s.username));
        if (vanished.length) {
          await tx.currentAccount.updateMany({
            where: { id: { in: vanished.map((v) => v.id) } },
            data: { isDeleted: true, deletedTime: now, lastChangeType: 'delete', lastChangeTime: now, sessionId },
          });
          // A deleted account holds no classification (history stays in the inactive rows); the
          // dashboard counts active assignments without visiting accounts because of this.
          await tx.accountClassificationAssignment.updateMany({ where: { accountId: { in: vanished.map((v) => v.id) }, isActive: true }, data: { isActive: false } });
          for (const v of vanished) logs.push({ accountId: v.id, username: v.username, changeType: 'delete', diff: { privilege: {}, other: {} } });
          counts.removed = vanished.length;
        }
      }

      for (let i = 0; i < inserts.length; i += INSERT_CHUNK) {
        const chunk = inserts.slice(i, i + INSERT_CHUNK);
        const created = await tx.currentAccount.createManyAndReturn({
          data: chunk.map(({ username, a }) => ({
            instanceId: instance.id,
            dbType: instance.dbType,
            username,
            sessionId,
            ...columnsOf(a),
            lastChangeType: 'add',
            lastChangeTime: now,
            lastSyncTime: now,
            syncTime: now,
          })),
          select: { id: true, username: true },
        });
        const ids = new Map(created.map((c) => [c.username, c.id]));
        for (const { username, a } of chunk) logs.push({ accountId: ids.get(username) ?? null, username, changeType: 'add', diff: diffFromNothing(a) });
        counts.added += chunk.length;
      }

      for (let i = 0; i < logs.length; i += INSERT_CHUNK) {
        await tx.accountChangeLog.createMany({
          data: logs.slice(i, i + INSERT_CHUNK).map((l) => ({
            instanceId: instance.id,
            accountId: l.accountId,
            dbType: instance.dbType,
            username: l.username,
            changeType: l.changeType,
            changeTime: now,
            sessionId,
            message: l.changeType === 'add' ? '新增账户' : l.changeType === 'delete' ? '账户已删除' : l.changeType === 'restore' ? `账户已恢复; ${describeDiff(l.diff)}` : describeDiff(l.diff),
            privilegeDiff: l.diff.privilege as Prisma.InputJsonValue,
            otherDiff: l.diff.other as Prisma.InputJsonValue,
          })),
        });
      }
    },
    { timeout: 120_000, maxWait: 30_000 },
  );
  return counts;
}
