/**
 * User management (SPEC §2.1, §3.13): list, create, update, delete, toggle status, stats, and the
 * bootstrap admin. Rules that protect the last administrator run inside one transaction holding an
 * advisory lock, so two concurrent requests cannot both remove "the other" admin.
 */
import type { Pool } from 'pg';
import type { Prisma, PrismaClient } from '../../generated/prisma/client.js';
import type { AuthUser, Role } from '../../auth/permissions.js';
import { generatePassword, hashPassword } from '../../auth/passwords.js';
import { BusinessRuleError, ConflictError, ResourceNotFoundError } from '../../lib/errors.js';
import { type ListQuery, pageOf, windowOf, type Page } from '../../lib/pagination.js';
import type { Logger } from '../../logging/logger.js';
import type { PubSub } from '../../realtime/pubsub.js';

/** Arbitrary constant key of the advisory lock taken around admin-affecting changes. */
const ADMIN_GUARD_LOCK = 72_707_002;

export const USER_PUBLIC_SELECT = {
  id: true,
  username: true,
  role: true,
  email: true,
  isActive: true,
  lastLogin: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.UserSelect;

export type PublicUser = Prisma.UserGetPayload<{ select: typeof USER_PUBLIC_SELECT }>;

export interface UserServiceDeps {
  prisma: PrismaClient;
  /** Plain pg pool on the same database, for the list hot path. */
  pool: Pool;
  logger: Logger;
  pubsub: PubSub;
  authCache: { evict(id: number): void };
}

export interface ListUsersQuery extends ListQuery {
  role?: Role;
  status?: 'active' | 'inactive';
  startDate?: Date;
  endDate?: Date;
}

/** Sortable model fields → columns (the list query schema only lets these through). */
const USER_SORT_COLUMNS: Record<string, string> = {
  id: 'id',
  username: 'username',
  role: 'role',
  createdAt: 'created_at',
  lastLogin: 'last_login',
};

interface UserListRow {
  id: number;
  username: string;
  role: PublicUser['role'];
  email: string | null;
  is_active: boolean;
  last_login: Date | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * The users list runs on plain pg rather than Prisma: it is the hottest read of the product and
 * Prisma's query compiler roughly doubled its cost (bench/http). Same filters, whitelisted ordering.
 */
export async function listUsers(deps: UserServiceDeps, q: ListUsersQuery): Promise<Page<PublicUser>> {
  const conds: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    conds.push(sql.replace('?', `$${params.length}`));
  };
  if (q.search) add('username ILIKE ?', `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  if (q.role) add('role = ?::"UserRole"', q.role);
  if (q.status) add('is_active = ?', q.status === 'active');
  if (q.startDate) add('created_at >= ?', q.startDate);
  if (q.endDate) add('created_at <= ?', q.endDate);
  const where = conds.length ? `WHERE ${conds.join(' AND ')}` : '';
  const column = USER_SORT_COLUMNS[q.sort] ?? 'created_at';
  const dir = q.order === 'asc' ? 'ASC' : 'DESC';
  const w = windowOf(q);
  const [list, count] = await Promise.all([
    deps.pool.query<UserListRow>(
      `SELECT id, username, role, email, is_active, last_login, created_at, updated_at FROM users ${where}
       ORDER BY ${column} ${dir} NULLS LAST, id ${dir} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, w.limit, w.offset],
    ),
    deps.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM users ${where}`, params),
  ]);
  const items: PublicUser[] = list.rows.map((r) => ({
    id: r.id,
    username: r.username,
    role: r.role,
    email: r.email,
    isActive: r.is_active,
    lastLogin: r.last_login,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }));
  return pageOf(items, count.rows[0]?.n ?? 0, w);
}

export async function getUser(deps: UserServiceDeps, id: number): Promise<PublicUser> {
  const user = await deps.prisma.user.findUnique({ where: { id }, select: USER_PUBLIC_SELECT });
  if (!user) throw new ResourceNotFoundError('用户不存在', { id });
  return user;
}

export interface CreateUserInput {
  username: string;
  password: string;
  role: Role;
  email?: string | null;
  isActive?: boolean;
}

export async function createUser(deps: UserServiceDeps, actor: AuthUser | null, input: CreateUserInput): Promise<PublicUser> {
  const existing = await deps.prisma.user.findUnique({ where: { username: input.username }, select: { id: true } });
  if (existing) throw new ConflictError('用户名已存在', { field: 'username' });
  const user = await deps.prisma.user
    .create({
      data: {
        username: input.username,
        password: await hashPassword(input.password),
        role: input.role,
        email: input.email ?? null,
        isActive: input.isActive ?? true,
      },
      select: USER_PUBLIC_SELECT,
    })
    .catch(rethrowDuplicateUsername);
  deps.logger.info({ module: 'users', event: 'user_created', target_user_id: user.id, username: user.username, role: user.role, actor_id: actor?.id }, '用户创建成功');
  return user;
}

export interface UpdateUserInput {
  username?: string;
  password?: string;
  role?: Role;
  email?: string | null;
  isActive?: boolean;
}

export async function updateUser(deps: UserServiceDeps, actor: AuthUser, id: number, input: UpdateUserInput): Promise<PublicUser> {
  const passwordHash = input.password ? await hashPassword(input.password) : undefined;
  const user = await deps.prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${ADMIN_GUARD_LOCK})`;
    const current = await tx.user.findUnique({ where: { id } });
    if (!current) throw new ResourceNotFoundError('用户不存在', { id });
    if (input.username && input.username !== current.username) {
      const clash = await tx.user.findUnique({ where: { username: input.username }, select: { id: true } });
      if (clash) throw new ConflictError('用户名已存在', { field: 'username' });
    }
    if (input.isActive === false && current.isActive && id === actor.id) throw new BusinessRuleError('不能禁用自己的账户');
    const losesAdmin = current.role === 'admin' && current.isActive && ((input.role && input.role !== 'admin') || input.isActive === false);
    if (losesAdmin && (await otherActiveAdmins(tx, id)) === 0) {
      throw new BusinessRuleError(input.isActive === false ? '不能禁用最后一个管理员账户' : '不能降级最后一个管理员账户');
    }
    // Disabling, re-enabling or a new password invalidates every token issued before (token_version),
    // and ends every login session (so the refresh-token families say why).
    const revoke = passwordHash !== undefined || (input.isActive !== undefined && input.isActive !== current.isActive);
    if (revoke) await endSessions(tx, id, passwordHash !== undefined ? 'password_changed' : 'user_disabled');
    return tx.user
      .update({
        where: { id },
        data: {
          username: input.username,
          role: input.role,
          email: input.email,
          isActive: input.isActive,
          ...(passwordHash ? { password: passwordHash } : {}),
          ...(revoke ? { tokenVersion: { increment: 1 } } : {}),
        },
        select: USER_PUBLIC_SELECT,
      })
      .catch(rethrowDuplicateUsername);
  });
  changed(deps, user.id);
  const fields = Object.keys(input).filter((k) => (input as Record<string, unknown>)[k] !== undefined);
  deps.logger.info({ module: 'users', event: 'user_updated', target_user_id: id, fields, actor_id: actor.id }, '用户更新成功');
  return user;
}

export async function deleteUser(deps: UserServiceDeps, actor: AuthUser, id: number): Promise<{ id: number; username: string }> {
  if (id === actor.id) throw new BusinessRuleError('不能删除自己的账户');
  const deleted = await deps.prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${ADMIN_GUARD_LOCK})`;
    const current = await tx.user.findUnique({ where: { id } });
    if (!current) throw new ResourceNotFoundError('用户不存在', { id });
    if (current.role === 'admin') {
      const otherAdmins = await tx.user.count({ where: { role: 'admin', id: { not: id } } });
      if (otherAdmins === 0 || (current.isActive && (await otherActiveAdmins(tx, id)) === 0)) {
        throw new BusinessRuleError('不能删除最后一个管理员账户');
      }
    }
    await tx.user.delete({ where: { id } });
    return { id, username: current.username };
  });
  changed(deps, id);
  deps.logger.info({ module: 'users', event: 'user_deleted', target_user_id: id, username: deleted.username, actor_id: actor.id }, '用户删除成功');
  return deleted;
}

export async function toggleUserStatus(deps: UserServiceDeps, actor: AuthUser, id: number): Promise<PublicUser> {
  if (id === actor.id) throw new BusinessRuleError('不能禁用自己的账户');
  const user = await deps.prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${ADMIN_GUARD_LOCK})`;
    const current = await tx.user.findUnique({ where: { id } });
    if (!current) throw new ResourceNotFoundError('用户不存在', { id });
    if (current.isActive && current.role === 'admin' && (await otherActiveAdmins(tx, id)) === 0) {
      throw new BusinessRuleError('不能禁用最后一个管理员账户');
    }
    await endSessions(tx, id, 'user_disabled');
    return tx.user.update({
      where: { id },
      data: { isActive: !current.isActive, tokenVersion: { increment: 1 } },
      select: USER_PUBLIC_SELECT,
    });
  });
  changed(deps, id);
  deps.logger.info(
    { module: 'users', event: user.isActive ? 'user_enabled' : 'user_disabled', target_user_id: id, actor_id: actor.id },
    user.isActive ? '用户启用成功' : '用户禁用成功',
  );
  return user;
}

export interface UserStats {
  total: number;
  active: number;
  inactive: number;
  admin: number;
  user: number;
  viewer: number;
}

export async function userStats(deps: UserServiceDeps): Promise<UserStats> {
  const groups = await deps.prisma.user.groupBy({ by: ['role', 'isActive'], _count: { _all: true } });
  const stats: UserStats = { total: 0, active: 0, inactive: 0, admin: 0, user: 0, viewer: 0 };
  for (const g of groups) {
    const n = g._count._all;
    stats.total += n;
    stats[g.isActive ? 'active' : 'inactive'] += n;
    stats[g.role] += n;
  }
  return stats;
}

/**
 * First start: when there are no users at all, create `admin` with WHALEFALL_ADMIN_PASSWORD, or with
 * a random policy-compliant password that is returned so the caller can print it once.
 */
export async function ensureBootstrapAdmin(
  deps: UserServiceDeps,
  configuredPassword: string | undefined,
): Promise<{ created: boolean; generatedPassword?: string }> {
  if ((await deps.prisma.user.count()) > 0) return { created: false };
  const generated = configuredPassword ? undefined : generatePassword();
  const password = configuredPassword ?? generated!;
  try {
    await deps.prisma.user.create({ data: { username: 'admin', password: await hashPassword(password), role: 'admin' } });
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') return { created: false }; // another replica won the race
    throw err;
  }
  deps.logger.info({ module: 'users', event: 'bootstrap_admin_created', username: 'admin' }, '已创建初始管理员账户 admin');
  return { created: true, generatedPassword: generated };
}

async function endSessions(tx: Prisma.TransactionClient, userId: number, reason: 'password_changed' | 'user_disabled'): Promise<void> {
  await tx.refreshTokenFamily.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: new Date(), revokedReason: reason } });
}

async function otherActiveAdmins(tx: Prisma.TransactionClient, exceptId: number): Promise<number> {
  return tx.user.count({ where: { role: 'admin', isActive: true, id: { not: exceptId } } });
}

function changed(deps: UserServiceDeps, id: number): void {
  deps.authCache.evict(id); // this replica at once; the others through pub/sub
  deps.pubsub.publish('user.changed', { id });
}

function rethrowDuplicateUsername(err: unknown): never {
  if ((err as { code?: string }).code === 'P2002') throw new ConflictError('用户名已存在', { field: 'username' });
  throw err;
}
