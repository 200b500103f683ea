/**
 * Login, token refresh, logout and "who am I" (SPEC §3.1). Login is rate limited per client IP (every
 * attempt) and per username (failed attempts, reset on success); unknown users cost one argon2
 * verification like known ones, so timing does not reveal which usernames exist.
 *
 * Each login starts a refresh-token family (a login session). A refresh token is good for one
 * exchange: refresh marks it used and answers a new access/refresh pair in the same family. A used
 * token presented again means it was copied: the whole family is revoked (its newest refresh token
 * and its access tokens included) and a warning goes to the unified log. Logout revokes the family.
 */
import { randomUUID } from 'node:crypto';
import type { AppDeps } from '../../deps.js';
import { userForToken } from '../../auth/authenticate.js';
import { timingDummyHash, verifyPassword } from '../../auth/passwords.js';
import type { AuthUser } from '../../auth/permissions.js';
import type { PrismaClient } from '../../generated/prisma/client.js';
import { AuthenticationError, AuthorizationError, ResourceNotFoundError } from '../../lib/errors.js';
import { USER_PUBLIC_SELECT, type PublicUser } from '../users/user-service.js';

export interface LoginResult {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  user: PublicUser;
}

export interface ClientInfo {
  ip: string;
  userAgent?: string;
}

const RATE_LIMIT_MESSAGE = '登录尝试过于频繁，请稍后再试';

export async function login(deps: AppDeps, client: ClientInfo, username: string, password: string): Promise<LoginResult> {
  const userKey = username.toLowerCase();
  const log = deps.logger.child({ module: 'auth', ip_address: client.ip, user_agent: client.userAgent });
  try {
    await deps.limiters.loginPerIp.consume(client.ip, RATE_LIMIT_MESSAGE);
    await deps.limiters.loginPerUser.check(userKey, RATE_LIMIT_MESSAGE);
  } catch (err) {
    log.warn({ event: 'login_rate_limited', username }, '登录尝试过于频繁，已拒绝');
    throw err;
  }
  const row = await deps.prisma.user.findUnique({ where: { username } });
  const ok = await verifyPassword(row?.password ?? (await timingDummyHash()), password);
  if (!row || !ok) {
    await deps.limiters.loginPerUser.consume(userKey, RATE_LIMIT_MESSAGE).catch(() => {});
    log.warn({ event: 'login_failed', username, reason: row ? 'bad_password' : 'unknown_user' }, '登录失败：用户名或密码错误');
    throw new AuthenticationError('用户名或密码错误', { reason: 'invalid_credentials' });
  }
  if (!row.isActive) {
    log.warn({ event: 'login_failed', username, user_id: row.id, reason: 'user_disabled' }, '登录失败：账户已被禁用');
    throw new AuthorizationError('账户已被禁用', { reason: 'user_disabled' });
  }
  await deps.limiters.loginPerUser.reset(userKey);
  const user = await deps.prisma.user.update({ where: { id: row.id }, data: { lastLogin: new Date() }, select: USER_PUBLIC_SELECT });
  await deleteExpiredSessions(deps.prisma, row.id); // this user's finished sessions, while we are here
  const familyId = randomUUID();
  const pair = issuePair(deps, row.id, row.tokenVersion, familyId);
  await deps.prisma.refreshTokenFamily.create({
    data: { id: familyId, userId: row.id, expiresAt: pair.familyExpiresAt, tokens: { create: { id: pair.refreshJti, expiresAt: pair.refreshExpiresAt } } },
  });
  log.info({ event: 'login_succeeded', username, user_id: row.id, family_id: familyId }, '用户登录成功');
  return { accessToken: pair.accessToken, refreshToken: pair.refreshToken, tokenType: 'Bearer', expiresIn: deps.tokens.accessTtlSeconds, user };
}

function issuePair(deps: AppDeps, userId: number, tokenVersion: number, familyId: string) {
  const access = deps.tokens.issue(userId, tokenVersion, 'access', familyId);
  const refreshToken = deps.tokens.issue(userId, tokenVersion, 'refresh', familyId);
  return {
    accessToken: access.token,
    refreshToken: refreshToken.token,
    refreshJti: refreshToken.jti,
    refreshExpiresAt: refreshToken.expiresAt,
    // The family outlives its last token of either kind (access tokens may be set to outlive refresh tokens).
    familyExpiresAt: new Date(Math.max(access.expiresAt.getTime(), refreshToken.expiresAt.getTime())),
  };
}

export interface RefreshResult {
  accessToken: string;
  /** The replacement refresh token: the one presented is spent. */
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

const REVOKED = () => new AuthenticationError('令牌已失效，请重新登录', { reason: 'token_revoked' });

export async function refresh(deps: AppDeps, presented: string | undefined, client?: ClientInfo): Promise<RefreshResult> {
  if (!presented) throw new AuthenticationError('缺少刷新令牌', { reason: 'missing_token' });
  const token = deps.tokens.verify(presented, 'refresh');
  // Refresh tokens from before login sessions existed carry no family: they cannot be rotated.
  if (!token.family) throw REVOKED();
  const familyId = token.family;
  deps.authCache.evict(token.userId); // decide on fresh state: a refresh mints new credentials
  const user = await userForToken(deps.authCache, token);
  const next = issuePair(deps, user.id, token.version, familyId);
  const outcome = await deps.prisma.$transaction(async (tx) => {
    const now = new Date();
    // Spend the presented token: only an unused token of a live family can be spent, and only once
    // (concurrent presentations serialize on the row; the later one finds it used).
    const spent = await tx.refreshToken.updateMany({
      where: { id: token.jti, familyId, usedAt: null, family: { revokedAt: null } },
      data: { usedAt: now },
    });
    if (spent.count === 1) {
      await tx.refreshToken.create({ data: { id: next.refreshJti, familyId, expiresAt: next.refreshExpiresAt } });
      await tx.refreshTokenFamily.update({ where: { id: familyId }, data: { lastUsedAt: now, expiresAt: next.familyExpiresAt } });
      return 'rotated' as const;
    }
    const row = await tx.refreshToken.findUnique({ where: { id: token.jti }, select: { usedAt: true, family: { select: { revokedAt: true } } } });
    if (row?.usedAt && !row.family.revokedAt) {
      await tx.refreshTokenFamily.update({ where: { id: familyId }, data: { revokedAt: now, revokedReason: 'reuse' } });
      return 'reused' as const;
    }
    return 'revoked' as const;
  });
  if (outcome === 'rotated') {
    return { accessToken: next.accessToken, refreshToken: next.refreshToken, tokenType: 'Bearer', expiresIn: deps.tokens.accessTtlSeconds };
  }
  if (outcome === 'reused') {
    sessionsChanged(deps, user.id);
    deps.logger.warn(
      { module: 'auth', event: 'refresh_token_reuse', user_id: user.id, username: user.username, family_id: familyId, ip_address: client?.ip, user_agent: client?.userAgent },
      '检测到已使用的刷新令牌被再次使用，已撤销该登录会话',
    );
    throw new AuthenticationError('刷新令牌已被使用，登录会话已撤销，请重新登录', { reason: 'token_reused' });
  }
  throw REVOKED();
}

/**
 * Ends the login session of the presented token: a refresh token (argument), or the bearer token
 * (access or refresh). Its family is revoked, so its refresh tokens and its access tokens stop
 * working; the user's other sessions stay signed in. Idempotent for a session already ended.
 */
export async function logout(deps: AppDeps, tokens: { refreshToken?: string; bearer?: string }, client?: ClientInfo): Promise<void> {
  let token;
  if (tokens.refreshToken) token = deps.tokens.verify(tokens.refreshToken, 'refresh');
  else if (tokens.bearer) {
    try {
      token = deps.tokens.verify(tokens.bearer, 'access');
    } catch (err) {
      if ((err as AuthenticationError).details?.reason !== 'wrong_token_type') throw err;
      token = deps.tokens.verify(tokens.bearer, 'refresh');
    }
  } else throw new AuthenticationError('请先登录', { reason: 'not_authenticated' });
  if (token.family) {
    await deps.prisma.refreshTokenFamily.updateMany({
      where: { id: token.family, userId: token.userId, revokedAt: null },
      data: { revokedAt: new Date(), revokedReason: 'logout' },
    });
    sessionsChanged(deps, token.userId);
  }
  deps.logger.info(
    { module: 'auth', event: 'logout', user_id: token.userId, family_id: token.family, ip_address: client?.ip, user_agent: client?.userAgent },
    '用户登出成功',
  );
}

/** Every replica's auth cache forgets the user, so revoked sessions' access tokens are refused at once. */
function sessionsChanged(deps: AppDeps, userId: number): void {
  deps.authCache.evict(userId);
  deps.pubsub.publish('user.changed', { id: userId });
}

/**
 * Deletes login sessions (with their refresh tokens) whose last token has expired, and spent
 * refresh tokens past their expiry in live sessions: of one user, or of everyone.
 */
export async function deleteExpiredSessions(prisma: PrismaClient, userId?: number): Promise<number> {
  const now = new Date();
  const families = await prisma.refreshTokenFamily.deleteMany({ where: { expiresAt: { lt: now }, ...(userId !== undefined ? { userId } : {}) } });
  const tokens = await prisma.refreshToken.deleteMany({
    where: { expiresAt: { lt: now }, ...(userId !== undefined ? { family: { userId } } : {}) },
  });
  return families.count + tokens.count;
}

export async function currentUser(deps: AppDeps, actor: AuthUser): Promise<PublicUser> {
  const user = await deps.prisma.user.findUnique({ where: { id: actor.id }, select: USER_PUBLIC_SELECT });
  if (!user) throw new ResourceNotFoundError('用户不存在');
  return user;
}
