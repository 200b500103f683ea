/**
 * Login, token refresh and "who am I" (SPEC §3.1). Login is rate limited per client IP (every
 * attempt) and per username (failed attempts, reset on success); unknown users cost one argon2
 * verification like known ones, so timing does not reveal which usernames exist.
 */
import type { AppDeps } from '../../deps.js';
import { userForVersion } from '../../auth/authenticate.js';
import { timingDummyHash, verifyPassword } from '../../auth/passwords.js';
import type { AuthUser } from '../../auth/permissions.js';
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
  log.info({ event: 'login_succeeded', username, user_id: row.id }, '用户登录成功');
  return {
    accessToken: deps.tokens.sign(row.id, row.tokenVersion, 'access'),
    refreshToken: deps.tokens.sign(row.id, row.tokenVersion, 'refresh'),
    tokenType: 'Bearer',
    expiresIn: deps.tokens.accessTtlSeconds,
    user,
  };
}

export interface RefreshResult {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

export async function refresh(deps: AppDeps, refreshToken: string | undefined): Promise<RefreshResult> {
  if (!refreshToken) throw new AuthenticationError('缺少刷新令牌', { reason: 'missing_token' });
  const { userId, version } = deps.tokens.verify(refreshToken, 'refresh');
  deps.authCache.evict(userId); // decide on fresh state: a refresh mints new credentials
  const user = await userForVersion(deps.authCache, userId, version);
  return { accessToken: deps.tokens.sign(user.id, version, 'access'), tokenType: 'Bearer', expiresIn: deps.tokens.accessTtlSeconds };
}

export async function currentUser(deps: AppDeps, actor: AuthUser): Promise<PublicUser> {
  const user = await deps.prisma.user.findUnique({ where: { id: actor.id }, select: USER_PUBLIC_SELECT });
  if (!user) throw new ResourceNotFoundError('用户不存在');
  return user;
}
