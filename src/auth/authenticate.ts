/**
 * Resolves the user behind an access token. Every request re-checks that the user still exists, is
 * active, that the token's version is current (disable and password change revoke every token) and
 * that the token's login session (refresh-token family) was not revoked (logout, replayed refresh
 * token). A short-lived cache keeps that check off the database on hot paths; user and session
 * changes evict it on every replica through the `user.changed` topic.
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import { AuthenticationError } from '../lib/errors.js';
import type { AuthUser, Role } from './permissions.js';
import { verifiedAccessOf, type TokenService, type VerifiedToken } from './tokens.js';

const CACHE_TTL_MS = 10_000;
const CACHE_MAX = 5_000;

interface CachedUser {
  user: AuthUser;
  isActive: boolean;
  tokenVersion: number;
  /** Login sessions of this user revoked while some of their tokens may still be unexpired. */
  revokedFamilies: ReadonlySet<string>;
  expires: number;
}

export class AuthUserCache {
  private readonly map = new Map<number, CachedUser>();

  constructor(private readonly prisma: PrismaClient) {}

  async get(id: number): Promise<CachedUser | undefined> {
    const hit = this.map.get(id);
    if (hit && hit.expires > Date.now()) return hit;
    const row = await this.prisma.user.findUnique({
      where: { id },
      select: {
        id: true,
        username: true,
        role: true,
        isActive: true,
        tokenVersion: true,
        refreshTokenFamilies: { where: { revokedAt: { not: null }, expiresAt: { gt: new Date() } }, select: { id: true } },
      },
    });
    if (!row) {
      this.map.delete(id);
      return undefined;
    }
    const entry: CachedUser = {
      user: { id: row.id, username: row.username, role: row.role as Role },
      isActive: row.isActive,
      tokenVersion: row.tokenVersion,
      revokedFamilies: new Set(row.refreshTokenFamilies.map((f) => f.id)),
      expires: Date.now() + CACHE_TTL_MS,
    };
    if (this.map.size >= CACHE_MAX) this.map.clear();
    this.map.set(id, entry);
    return entry;
  }

  evict(id: number): void {
    this.map.delete(id);
  }
}

/** `req`: the HTTP request, whose token the HTTP front may already have verified. */
export async function authenticateToken(tokens: TokenService, cache: AuthUserCache, token: string, req?: object): Promise<AuthUser> {
  return userForToken(cache, verifiedAccessOf(req, token) ?? tokens.verify(token, 'access'));
}

export async function userForToken(cache: AuthUserCache, token: Pick<VerifiedToken, 'userId' | 'version' | 'family'>): Promise<AuthUser> {
  const entry = await cache.get(token.userId);
  if (!entry) throw new AuthenticationError('用户不存在', { reason: 'user_not_found' });
  if (!entry.isActive) throw new AuthenticationError('账户已被禁用', { reason: 'user_disabled' });
  if (entry.tokenVersion !== token.version || (token.family !== undefined && entry.revokedFamilies.has(token.family))) {
    throw new AuthenticationError('令牌已失效，请重新登录', { reason: 'token_revoked' });
  }
  return entry.user;
}
