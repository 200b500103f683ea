/** Reads of the unified account model: list with filters, one account, its change history. */
import type { AppDeps } from '../../deps.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { ResourceNotFoundError } from '../../lib/errors.js';
import { type ListQuery, pageOf, windowOf, type Page } from '../../lib/pagination.js';
import { likeLiteral } from '../../lib/like.js';

export const ACCOUNT_INCLUDE = { instance: { select: { id: true, name: true, dbType: true, host: true } } } satisfies Prisma.CurrentAccountInclude;
export type AccountRow = Prisma.CurrentAccountGetPayload<{ include: typeof ACCOUNT_INCLUDE }>;

/** The columns privilegesOf reads (an account row or one of its versions). */
export type PrivilegeColumns = { dbType: string } & Record<
  'globalPrivileges' | 'databasePrivileges' | 'predefinedRoles' | 'roleAttributes' | 'databasePrivilegesPg' | 'tablespacePrivileges' | 'serverRoles'
  | 'serverPermissions' | 'databaseRoles' | 'databasePermissions' | 'oracleRoles' | 'systemPrivileges' | 'tablespacePrivilegesOracle' | 'typeSpecific',
  unknown
>;

/** The privilege view of an account for its engine (SPEC §2.5 get_permissions_by_db_type). */
export function privilegesOf(a: PrivilegeColumns): Record<string, unknown> {
  switch (a.dbType) {
    case 'mysql':
      return { global_privileges: a.globalPrivileges ?? [], database_privileges: a.databasePrivileges ?? {}, type_specific: a.typeSpecific ?? {} };
    case 'postgresql':
      return {
        predefined_roles: a.predefinedRoles ?? [],
        role_attributes: a.roleAttributes ?? {},
        database_privileges: a.databasePrivilegesPg ?? {},
        tablespace_privileges: a.tablespacePrivileges ?? {},
        system_privileges: a.systemPrivileges ?? [],
        type_specific: a.typeSpecific ?? {},
      };
    case 'sqlserver':
      return {
        server_roles: a.serverRoles ?? [],
        server_permissions: a.serverPermissions ?? [],
        database_roles: a.databaseRoles ?? {},
        database_permissions: a.databasePermissions ?? {},
        type_specific: a.typeSpecific ?? {},
      };
    case 'oracle':
      return {
        oracle_roles: a.oracleRoles ?? [],
        system_privileges: a.systemPrivileges ?? [],
        tablespace_privileges: a.tablespacePrivilegesOracle ?? {},
        type_specific: a.typeSpecific ?? {},
      };
    default:
      return { type_specific: a.typeSpecific ?? {} };
  }
}

export interface ListAccountsQuery extends ListQuery {
  instanceId?: number;
  dbType?: string;
  isSuperuser?: boolean;
  isLocked?: boolean;
  isActive?: boolean;
  classificationId?: number;
  includeDeleted?: boolean;
}

/** The accounts of one instance (an instance path, not a filter): a missing or deleted instance is a 404. */
export async function listInstanceAccounts(deps: AppDeps, q: ListAccountsQuery & { instanceId: number }): Promise<Page<AccountRow>> {
  const instance = await deps.prisma.instance.findFirst({ where: { id: q.instanceId, deletedAt: null }, select: { id: true } });
  if (!instance) throw new ResourceNotFoundError('实例不存在', { id: q.instanceId });
  return listAccounts(deps, q);
}

export async function listAccounts(deps: AppDeps, q: ListAccountsQuery): Promise<Page<AccountRow>> {
  const where: Prisma.CurrentAccountWhereInput = {
    ...(q.includeDeleted ? {} : { isDeleted: false }),
    ...(q.instanceId ? { instanceId: q.instanceId } : {}),
    ...(q.dbType ? { dbType: q.dbType } : {}),
    ...(q.search ? { username: { contains: likeLiteral(q.search), mode: 'insensitive' } } : {}),
    ...(q.isSuperuser !== undefined ? { isSuperuser: q.isSuperuser } : {}),
    ...(q.isLocked !== undefined ? { isLocked: q.isLocked } : {}),
    ...(q.isActive !== undefined ? { isActive: q.isActive } : {}),
    ...(q.classificationId ? { assignments: { some: { classificationId: q.classificationId, isActive: true } } } : {}),
    instance: { deletedAt: null },
  };
  const w = windowOf(q);
  const [items, total] = await Promise.all([
    deps.prisma.currentAccount.findMany({ where, include: ACCOUNT_INCLUDE, orderBy: [{ [q.sort]: q.order }, { id: 'asc' }], skip: w.offset, take: w.limit }),
    deps.prisma.currentAccount.count({ where }),
  ]);
  return pageOf(items, total, w);
}

export async function getAccount(deps: AppDeps, id: number): Promise<AccountRow> {
  const a = await deps.prisma.currentAccount.findUnique({ where: { id }, include: ACCOUNT_INCLUDE });
  if (!a) throw new ResourceNotFoundError('账户不存在', { account_id: id });
  return a;
}

export type ChangeRow = Prisma.AccountChangeLogGetPayload<object>;

export async function listAccountChanges(
  deps: AppDeps,
  q: { page: number; perPage: number; first?: number; after?: number; instanceId?: number; accountId?: number; changeType?: string; startDate?: Date; endDate?: Date },
): Promise<Page<ChangeRow>> {
  let accountFilter: Prisma.AccountChangeLogWhereInput = {};
  if (q.accountId) {
    const a = await deps.prisma.currentAccount.findUnique({ where: { id: q.accountId }, select: { instanceId: true, dbType: true, username: true } });
    if (!a) throw new ResourceNotFoundError('账户不存在', { account_id: q.accountId });
    // By identity, so history from before an account row was re-created is included too.
    accountFilter = { instanceId: a.instanceId, dbType: a.dbType, username: a.username };
  }
  const where: Prisma.AccountChangeLogWhereInput = {
    ...accountFilter,
    ...(q.instanceId ? { instanceId: q.instanceId } : {}),
    ...(q.changeType ? { changeType: q.changeType } : {}),
    ...(q.startDate || q.endDate ? { changeTime: { ...(q.startDate ? { gte: q.startDate } : {}), ...(q.endDate ? { lte: q.endDate } : {}) } } : {}),
  };
  const w = windowOf(q);
  const [items, total] = await Promise.all([
    deps.prisma.accountChangeLog.findMany({ where, orderBy: [{ changeTime: 'desc' }, { id: 'desc' }], skip: w.offset, take: w.limit }),
    deps.prisma.accountChangeLog.count({ where }),
  ]);
  return pageOf(items, total, w);
}
