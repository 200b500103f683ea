/**
 * Instances (SPEC §2.3, §3.5, §3.6 with [FIX]es): CRUD with soft delete, filtered lists, tags,
 * statistics and connection tests through the engine adapters.
 */
import type { AppDeps } from '../../deps.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { AuthUser } from '../../auth/permissions.js';
import { getAdapter } from '../../adapters/registry.js';
import { ConnectionFailure, type ConnectionOptions, type ConnInfo, type DbType } from '../../adapters/types.js';
import { describeMissing, missingOptional, missingRequired, type CollectorRight } from '../../adapters/rights.js';
import { ConflictError, ResourceNotFoundError, ValidationError } from '../../lib/errors.js';
import { type ListQuery, pageOf, windowOf, type Page } from '../../lib/pagination.js';
import { connInfoFor } from '../sync/connection.js';
import { likeLiteral } from '../../lib/like.js';
import { deletedName } from './soft-delete.js';

export const INSTANCE_INCLUDE = {
  credential: { select: { id: true, name: true, username: true, credentialType: true, isActive: true } },
  tags: { include: { tag: { select: { id: true, name: true, displayName: true, category: true, color: true } } } },
  _count: { select: { accounts: { where: { isDeleted: false } } } },
} satisfies Prisma.InstanceInclude;
export type InstanceRow = Prisma.InstanceGetPayload<{ include: typeof INSTANCE_INCLUDE }>;

export interface InstanceInput {
  name: string;
  dbType: DbType;
  host: string;
  port: number;
  databaseName?: string | null;
  credentialId?: number | null;
  environment?: string;
  description?: string | null;
  isActive?: boolean;
  tags?: string[];
  connectionOptions?: ConnectionOptions;
}

const live = { deletedAt: null } as const;

async function assertNameFree(deps: AppDeps, name: string, exceptId?: number) {
  const clash = await deps.prisma.instance.findFirst({ where: { name, ...(exceptId ? { id: { not: exceptId } } : {}) }, select: { id: true } });
  if (clash) throw new ConflictError('实例名称已存在', { field: 'name' });
}

async function assertCredential(deps: AppDeps, id: number | null | undefined) {
  if (!id) return;
  const c = await deps.prisma.credential.findFirst({ where: { id, deletedAt: null }, select: { id: true } });
  if (!c) throw new ValidationError(`凭据ID ${id} 不存在`, { errors: [{ field: 'credentialId', message: `凭据ID ${id} 不存在` }] });
}

/** Tag names → ids; unknown names become tags of category "other" (documented behaviour). */
async function tagIds(tx: Prisma.TransactionClient, names: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const name of [...new Set(names)]) {
    const t = await tx.tag.upsert({ where: { name }, update: {}, create: { name, displayName: name, category: 'other' } });
    ids.push(t.id);
  }
  return ids;
}

export async function createInstance(deps: AppDeps, actor: AuthUser, input: InstanceInput): Promise<InstanceRow> {
  await assertNameFree(deps, input.name);
  await assertCredential(deps, input.credentialId);
  const row = await deps.prisma.$transaction((tx) => insertInstance(tx, input));
  deps.logger.info({ module: 'instances', event: 'instance_created', instance_id: row.id, name: row.name, db_type: row.dbType, actor_id: actor.id }, '实例创建成功');
  return row;
}

async function insertInstance(tx: Prisma.TransactionClient, input: InstanceInput): Promise<InstanceRow> {
    const ids = await tagIds(tx, input.tags ?? []);
    return tx.instance.create({
      data: {
        name: input.name,
        dbType: input.dbType,
        host: input.host,
        port: input.port,
        databaseName: input.databaseName || null,
        credentialId: input.credentialId ?? null,
        environment: input.environment ?? 'production',
        description: input.description ?? null,
        isActive: input.isActive ?? true,
        connectionOptions: (input.connectionOptions ?? {}) as Prisma.InputJsonValue,
        tags: { create: ids.map((tagId) => ({ tagId })) },
      },
      include: INSTANCE_INCLUDE,
    });
}

export interface RowError {
  row: number;
  name?: string;
  errors: Array<{ field: string; message: string }>;
}

/**
 * Creates many instances at once: every row is checked first (per-row errors, including duplicate
 * names within the batch and against existing instances), and only a fully valid batch is written,
 * in one transaction — nothing half-written.
 */
export async function batchCreateInstances(deps: AppDeps, actor: AuthUser, numbered: Array<{ row: number; input: InstanceInput }>, rowErrors: RowError[]): Promise<InstanceRow[]> {
  const rows = numbered.map((n) => n.input);
  const seen = new Map<string, number>();
  numbered.forEach(({ row, input: r }) => {
    const prev = seen.get(r.name);
    if (prev !== undefined) rowErrors.push({ row, name: r.name, errors: [{ field: 'name', message: `与第 ${prev} 行名称重复` }] });
    else seen.set(r.name, row);
  });
  const existing = await deps.prisma.instance.findMany({ where: { name: { in: rows.map((r) => r.name) } }, select: { name: true } });
  for (const e of existing) rowErrors.push({ row: seen.get(e.name) ?? 0, name: e.name, errors: [{ field: 'name', message: '实例名称已存在' }] });
  const credIds = [...new Set(rows.map((r) => r.credentialId).filter((x): x is number => !!x))];
  const creds = new Set((await deps.prisma.credential.findMany({ where: { id: { in: credIds }, deletedAt: null }, select: { id: true } })).map((c) => c.id));
  numbered.forEach(({ row, input: r }) => {
    if (r.credentialId && !creds.has(r.credentialId)) rowErrors.push({ row, name: r.name, errors: [{ field: 'credential_id', message: `凭据ID ${r.credentialId} 不存在` }] });
  });
  if (rowErrors.length) {
    rowErrors.sort((a, b) => a.row - b.row);
    throw new ValidationError(`${rowErrors.length} 行数据有误，未创建任何实例`, { rows: rowErrors });
  }
  const created = await deps.prisma.$transaction(async (tx) => {
    const out: InstanceRow[] = [];
    for (const r of rows) out.push(await insertInstance(tx, r));
    return out;
  }, { timeout: 60_000 });
  deps.logger.info({ module: 'instances', event: 'instances_batch_created', count: created.length, instance_ids: created.map((c) => c.id).slice(0, 100), actor_id: actor.id }, `批量创建实例成功: ${created.length} 个`);
  return created;
}

export async function batchDeleteInstances(deps: AppDeps, actor: AuthUser, ids: number[]): Promise<{ deleted: number[]; notFound: number[] }> {
  const live = await deps.prisma.instance.findMany({ where: { id: { in: ids }, deletedAt: null }, select: { id: true, name: true } });
  const now = new Date();
  await deps.prisma.$transaction(
    live.map((i) => deps.prisma.instance.update({ where: { id: i.id }, data: { deletedAt: now, status: 'deleted', isActive: false, name: deletedName(i.name, i.id) } })),
  );
  const deleted = live.map((i) => i.id);
  deps.logger.info({ module: 'instances', event: 'instances_batch_deleted', instance_ids: deleted, actor_id: actor.id }, `批量删除实例: ${deleted.length} 个`);
  return { deleted, notFound: ids.filter((id) => !deleted.includes(id)) };
}

export async function updateInstance(deps: AppDeps, actor: AuthUser, id: number, input: Partial<InstanceInput>): Promise<InstanceRow> {
  await getInstance(deps, id);
  if (input.name) await assertNameFree(deps, input.name, id);
  await assertCredential(deps, input.credentialId);
  const row = await deps.prisma.$transaction(async (tx) => {
    if (input.tags) {
      const ids = await tagIds(tx, input.tags);
      await tx.instanceTag.deleteMany({ where: { instanceId: id } });
      await tx.instanceTag.createMany({ data: ids.map((tagId) => ({ instanceId: id, tagId })) });
    }
    return tx.instance.update({
      where: { id },
      data: {
        name: input.name,
        dbType: input.dbType,
        host: input.host,
        port: input.port,
        databaseName: input.databaseName === undefined ? undefined : input.databaseName || null,
        credentialId: input.credentialId,
        environment: input.environment,
        description: input.description,
        isActive: input.isActive,
        connectionOptions: input.connectionOptions as Prisma.InputJsonValue | undefined,
      },
      include: INSTANCE_INCLUDE,
    });
  });
  const fields = Object.keys(input).filter((k) => (input as Record<string, unknown>)[k] !== undefined);
  deps.logger.info({ module: 'instances', event: 'instance_updated', instance_id: id, fields, actor_id: actor.id }, '实例更新成功');
  return row;
}

/** Soft delete: history (accounts, change log, sessions) stays; the name becomes free again. */
export async function deleteInstance(deps: AppDeps, actor: AuthUser, id: number): Promise<{ id: number }> {
  const row = await getInstance(deps, id);
  await deps.prisma.instance.update({
    where: { id },
    data: { deletedAt: new Date(), status: 'deleted', isActive: false, name: deletedName(row.name, id) },
  });
  deps.logger.info({ module: 'instances', event: 'instance_deleted', instance_id: id, name: row.name, actor_id: actor.id }, '实例删除成功');
  return { id };
}

export async function getInstance(deps: AppDeps, id: number): Promise<InstanceRow> {
  const row = await deps.prisma.instance.findFirst({ where: { id, ...live }, include: INSTANCE_INCLUDE });
  if (!row) throw new ResourceNotFoundError('实例不存在', { id });
  return row;
}

export interface ListInstancesQuery extends ListQuery {
  dbType?: string;
  environment?: string;
  tag?: string;
  isActive?: boolean;
  connectionStatus?: string;
}

export async function listInstances(deps: AppDeps, q: ListInstancesQuery): Promise<Page<InstanceRow>> {
  const where: Prisma.InstanceWhereInput = {
    ...live,
    ...(q.search ? { OR: [{ name: { contains: likeLiteral(q.search), mode: 'insensitive' } }, { host: { contains: likeLiteral(q.search), mode: 'insensitive' } }] } : {}),
    ...(q.dbType ? { dbType: q.dbType } : {}),
    ...(q.environment ? { environment: q.environment } : {}),
    ...(q.tag ? { tags: { some: { tag: { name: q.tag } } } } : {}),
    ...(q.isActive !== undefined ? { isActive: q.isActive } : {}),
    ...(q.connectionStatus ? (q.connectionStatus === 'unknown' ? { connectionStatus: null } : { connectionStatus: q.connectionStatus }) : {}),
  };
  const w = windowOf(q);
  const [items, total] = await Promise.all([
    deps.prisma.instance.findMany({ where, include: INSTANCE_INCLUDE, orderBy: [{ [q.sort]: q.order }, { id: 'asc' }], skip: w.offset, take: w.limit }),
    deps.prisma.instance.count({ where }),
  ]);
  return pageOf(items, total, w);
}

export interface ConnectionTestResult {
  /** The connection itself worked (rights are reported separately, below). */
  success: boolean;
  message: string;
  version: string | null;
  mainVersion: string | null;
  detailedVersion: string | null;
  /** The raw version banner (stored on the instance). */
  rawVersion: string | null;
  failureKind: string | null;
  /** false when a required collector right is missing (a sync would be refused); null when not connected. */
  rightsOk: boolean | null;
  /** Required collector rights the account lacks, as a DBA grants them; null when not connected. */
  missingRights: string[] | null;
  /** Optional rights it lacks (a detail such as has_password stays unknown); null when not connected. */
  missingOptionalRights: string[] | null;
  /** Every right the collector needs on this engine, granted or not; null when not connected. */
  rights: CollectorRight[] | null;
}

async function runTest(conn: ConnInfo): Promise<ConnectionTestResult> {
  try {
    const { version: v, rights } = await getAdapter(conn.dbType).testConnection(conn);
    const missing = describeMissing(conn.dbType, rights);
    return {
      success: true,
      message: `连接成功，数据库版本: ${v.raw.slice(0, 300) || v.display}${missing ? `；${missing}` : ''}`,
      version: v.display,
      mainVersion: v.main,
      detailedVersion: v.detailed,
      rawVersion: v.raw,
      failureKind: null,
      rightsOk: missingRequired(rights).length === 0,
      missingRights: missingRequired(rights).map((r) => r.right),
      missingOptionalRights: missingOptional(rights).map((r) => r.right),
      rights,
    };
  } catch (err) {
    if (!(err instanceof ConnectionFailure)) throw err;
    return { success: false, message: err.message, version: null, mainVersion: null, detailedVersion: null, rawVersion: null, failureKind: err.kind, rightsOk: null, missingRights: null, missingOptionalRights: null, rights: null };
  }
}

/** Tests a saved instance; records the outcome (version on success, reachability either way). */
export async function testInstanceConnection(deps: AppDeps, actor: AuthUser, id: number): Promise<ConnectionTestResult> {
  const inst = await getInstance(deps, id);
  const result = await runTest(await connInfoFor(deps, inst));
  const now = new Date();
  await deps.prisma.instance.update({
    where: { id },
    data: result.success
      ? {
          lastConnected: now,
          connectionStatus: 'reachable',
          lastConnectionError: null,
          mainVersion: result.mainVersion!.slice(0, 20),
          detailedVersion: result.detailedVersion!.slice(0, 50),
          databaseVersion: result.rawVersion!.slice(0, 1000),
        }
      : { connectionStatus: 'unreachable', lastConnectionError: result.message },
  });
  deps.logger[result.success && result.rightsOk ? 'info' : 'warn'](
    { module: 'instances', event: 'connection_test', instance_id: id, success: result.success, failure_kind: result.failureKind, missing_rights: result.missingRights, missing_optional_rights: result.missingOptionalRights, actor_id: actor.id },
    result.success ? `实例连接测试成功: ${inst.name}${result.missingRights?.length ? `（采集账号缺少必需权限: ${result.missingRights.join('；')}）` : ''}` : `实例连接测试失败: ${inst.name}: ${result.message}`,
  );
  return result;
}

/** Tests unsaved parameters: a saved credential or inline username/password, never persisted. */
export async function testConnectionParams(
  deps: AppDeps,
  actor: AuthUser,
  p: { dbType: DbType; host: string; port: number; databaseName?: string | null; credentialId?: number; username?: string; password?: string; connectionOptions?: ConnectionOptions },
): Promise<ConnectionTestResult> {
  let username = p.username;
  let password = p.password;
  if (p.credentialId) {
    const cred = await deps.prisma.credential.findFirst({ where: { id: p.credentialId, deletedAt: null } });
    if (!cred) throw new ValidationError(`凭据ID ${p.credentialId} 不存在`, { errors: [{ field: 'credentialId', message: `凭据ID ${p.credentialId} 不存在` }] });
    username = cred.username;
    password = deps.credentialKey.decrypt(cred.passwordCipher, cred.passwordKeyId);
  }
  const result = await runTest({
    dbType: p.dbType,
    host: p.host,
    port: p.port,
    username: username!,
    password: password!,
    database: p.databaseName || (p.dbType === 'postgresql' ? 'postgres' : p.dbType === 'sqlserver' ? 'master' : p.dbType === 'oracle' ? 'ORCL' : null),
    options: p.connectionOptions,
  });
  deps.logger[result.success && result.rightsOk ? 'info' : 'warn'](
    { module: 'instances', event: 'connection_test_adhoc', db_type: p.dbType, host: p.host, port: p.port, success: result.success, missing_rights: result.missingRights, missing_optional_rights: result.missingOptionalRights, actor_id: actor.id },
    result.success ? `连接测试成功${result.missingRights?.length ? `（采集账号缺少必需权限: ${result.missingRights.join('；')}）` : ''}` : `连接测试失败: ${result.message}`,
  );
  return result;
}

export async function instanceStatistics(deps: AppDeps) {
  const [byType, byActive, byReach, versions, ports] = await Promise.all([
    deps.prisma.instance.groupBy({ by: ['dbType'], where: live, _count: { _all: true }, orderBy: { dbType: 'asc' } }),
    deps.prisma.instance.groupBy({ by: ['isActive'], where: live, _count: { _all: true } }),
    deps.prisma.instance.groupBy({ by: ['connectionStatus'], where: live, _count: { _all: true } }),
    deps.prisma.instance.groupBy({ by: ['dbType', 'mainVersion'], where: live, _count: { _all: true }, orderBy: [{ dbType: 'asc' }, { mainVersion: 'asc' }] }),
    deps.prisma.instance.groupBy({ by: ['port'], where: live, _count: { _all: true }, orderBy: { _count: { port: 'desc' } }, take: 10 }),
  ]);
  const count = <T>(rows: Array<T & { _count: { _all: number } }>, pick: (r: T) => boolean) => rows.filter(pick).reduce((a, r) => a + r._count._all, 0);
  const total = byType.reduce((a, r) => a + r._count._all, 0);
  return {
    totalInstances: total,
    activeInstances: count(byActive, (r) => r.isActive),
    inactiveInstances: count(byActive, (r) => !r.isActive),
    reachableInstances: count(byReach, (r) => r.connectionStatus === 'reachable'),
    unreachableInstances: count(byReach, (r) => r.connectionStatus === 'unreachable'),
    untestedInstances: count(byReach, (r) => r.connectionStatus === null),
    dbTypesCount: byType.length,
    dbTypeStats: byType.map((r) => ({ dbType: r.dbType, count: r._count._all })),
    portStats: ports.map((r) => ({ port: r.port, count: r._count._all })),
    versionStats: versions.map((r) => ({ dbType: r.dbType, version: r.mainVersion ?? '未知版本', count: r._count._all })),
  };
}
