/**
 * Credentials (SPEC §2.2, §3.14 with [FIX]es): the password is sealed with AES-256-GCM on write and
 * only ever opened by the connection code; nothing here returns or logs it. A credential used by an
 * instance cannot be deleted.
 */
import type { AppDeps } from '../../deps.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { AuthUser } from '../../auth/permissions.js';
import { ConflictError, ResourceNotFoundError } from '../../lib/errors.js';
import { type ListQuery, pageOf, windowOf, type Page } from '../../lib/pagination.js';
import { likeLiteral } from '../../lib/like.js';
import { deletedName } from './soft-delete.js';

/** Everything but the sealed secret. */
export const CREDENTIAL_SELECT = {
  id: true,
  name: true,
  credentialType: true,
  dbType: true,
  username: true,
  description: true,
  isActive: true,
  createdAt: true,
  updatedAt: true,
  _count: { select: { instances: { where: { deletedAt: null } } } },
} satisfies Prisma.CredentialSelect;
export type PublicCredential = Prisma.CredentialGetPayload<{ select: typeof CREDENTIAL_SELECT }>;

export const PASSWORD_MASK = '********';

export interface CredentialInput {
  name: string;
  credentialType: string;
  dbType?: string | null;
  username: string;
  password: string;
  description?: string | null;
  isActive?: boolean;
}

const live = { deletedAt: null } as const;

async function assertNameFree(deps: AppDeps, name: string, exceptId?: number) {
  const clash = await deps.prisma.credential.findFirst({ where: { name, ...(exceptId ? { id: { not: exceptId } } : {}) }, select: { id: true } });
  if (clash) throw new ConflictError('凭据名称已存在', { field: 'name' });
}

export async function createCredential(deps: AppDeps, actor: AuthUser, input: CredentialInput): Promise<PublicCredential> {
  await assertNameFree(deps, input.name);
  const sealed = deps.credentialKey.encrypt(input.password);
  const c = await deps.prisma.credential.create({
    data: {
      name: input.name,
      credentialType: input.credentialType,
      dbType: input.dbType ?? null,
      username: input.username,
      description: input.description ?? null,
      isActive: input.isActive ?? true,
      passwordCipher: sealed.cipher,
      passwordKeyId: sealed.keyId,
    },
    select: CREDENTIAL_SELECT,
  });
  deps.logger.info({ module: 'credentials', event: 'credential_created', credential_id: c.id, name: c.name, actor_id: actor.id }, '凭据创建成功');
  return c;
}

export async function updateCredential(deps: AppDeps, actor: AuthUser, id: number, input: Partial<CredentialInput>): Promise<PublicCredential> {
  await getCredential(deps, id);
  if (input.name) await assertNameFree(deps, input.name, id);
  const sealed = input.password ? deps.credentialKey.encrypt(input.password) : undefined;
  const c = await deps.prisma.credential.update({
    where: { id },
    data: {
      name: input.name,
      credentialType: input.credentialType,
      dbType: input.dbType,
      username: input.username,
      description: input.description,
      isActive: input.isActive,
      ...(sealed ? { passwordCipher: sealed.cipher, passwordKeyId: sealed.keyId } : {}),
    },
    select: CREDENTIAL_SELECT,
  });
  const fields = Object.keys(input).filter((k) => (input as Record<string, unknown>)[k] !== undefined && k !== 'password');
  deps.logger.info(
    { module: 'credentials', event: 'credential_updated', credential_id: id, fields, password_changed: Boolean(sealed), actor_id: actor.id },
    '凭据更新成功',
  );
  return c;
}

export async function deleteCredential(deps: AppDeps, actor: AuthUser, id: number): Promise<{ id: number }> {
  const c = await getCredential(deps, id);
  const users = c._count.instances;
  if (users > 0) throw new ConflictError(`凭据正被 ${users} 个实例使用，无法删除；请先为这些实例更换凭据`, { instances: users });
  await deps.prisma.credential.update({ where: { id }, data: { deletedAt: new Date(), isActive: false, name: deletedName(c.name, id) } });
  deps.logger.info({ module: 'credentials', event: 'credential_deleted', credential_id: id, name: c.name, actor_id: actor.id }, '凭据删除成功');
  return { id };
}

export async function toggleCredential(deps: AppDeps, actor: AuthUser, id: number): Promise<PublicCredential> {
  const c = await getCredential(deps, id);
  return updateCredential(deps, actor, id, { isActive: !c.isActive });
}

export async function getCredential(deps: AppDeps, id: number): Promise<PublicCredential> {
  const c = await deps.prisma.credential.findFirst({ where: { id, ...live }, select: CREDENTIAL_SELECT });
  if (!c) throw new ResourceNotFoundError('凭据不存在', { id });
  return c;
}

export async function listCredentials(
  deps: AppDeps,
  q: ListQuery & { credentialType?: string; dbType?: string; isActive?: boolean },
): Promise<Page<PublicCredential>> {
  const where: Prisma.CredentialWhereInput = {
    ...live,
    ...(q.search ? { OR: [{ name: { contains: likeLiteral(q.search), mode: 'insensitive' } }, { username: { contains: likeLiteral(q.search), mode: 'insensitive' } }] } : {}),
    ...(q.credentialType ? { credentialType: q.credentialType } : {}),
    ...(q.dbType ? { dbType: q.dbType } : {}),
    ...(q.isActive !== undefined ? { isActive: q.isActive } : {}),
  };
  const w = windowOf(q);
  const [items, total] = await Promise.all([
    deps.prisma.credential.findMany({ where, select: CREDENTIAL_SELECT, orderBy: [{ [q.sort]: q.order }, { id: 'asc' }], skip: w.offset, take: w.limit }),
    deps.prisma.credential.count({ where }),
  ]);
  return pageOf(items, total, w);
}
