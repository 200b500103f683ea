/**
 * Access and refresh JWTs (HS256 only: `alg: none` and every other algorithm are refused). The `typ`
 * claim keeps the two apart; `ver` ties a token to the user's token_version so that disabling a user
 * or changing a password revokes every earlier token; `fam` names the login session (refresh-token
 * family) a token belongs to, so that logout or a replayed refresh token revokes that session only.
 */
import { createSecretKey, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { AuthenticationError } from '../lib/errors.js';

export type TokenType = 'access' | 'refresh';

export interface TokenClaims {
  sub: string;
  typ: TokenType;
  ver: number;
  fam?: string;
}

export interface IssuedToken {
  token: string;
  jti: string;
  expiresAt: Date;
}

export interface VerifiedToken {
  userId: number;
  version: number;
  jti: string;
  /** The refresh-token family (login session); absent on tokens issued before families existed. */
  family?: string;
  expiresAt: Date;
}

const ISSUER = 'whalefall';
/** Replicas' clocks may disagree by a little: `nbf`/`exp` are checked with this much slack. */
const CLOCK_TOLERANCE_SECONDS = 5;

export class TokenService {
  /** A prepared KeyObject: given a plain string, jsonwebtoken first tries (and fails) to parse it as
   * a PEM public key on every verify, which costs ~0.35 ms per request. */
  private readonly secret: KeyObject;

  constructor(
    secret: string,
    private readonly accessTtl: number,
    private readonly refreshTtl: number,
  ) {
    this.secret = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  /** Signs a token of `typ` for the user, in login session `family`. */
  issue(userId: number, tokenVersion: number, typ: TokenType, family: string): IssuedToken {
    const jti = randomUUID();
    const ttl = typ === 'access' ? this.accessTtl : this.refreshTtl;
    const token = jwt.sign({ typ, ver: tokenVersion, fam: family }, this.secret, {
      algorithm: 'HS256',
      subject: String(userId),
      issuer: ISSUER,
      expiresIn: ttl,
      notBefore: 0,
      jwtid: jti,
    });
    return { token, jti, expiresAt: new Date((Math.floor(Date.now() / 1000) + ttl) * 1000) };
  }

  get accessTtlSeconds(): number {
    return this.accessTtl;
  }

  get refreshTtlSeconds(): number {
    return this.refreshTtl;
  }

  /**
   * Verifies algorithm (HS256 only), signature, issuer, expiry (required), not-before and type;
   * throws AuthenticationError with a safe message and a reason.
   */
  verify(token: string, expected: TokenType): VerifiedToken {
    let claims: jwt.JwtPayload;
    try {
      const decoded = jwt.verify(token, this.secret, { algorithms: ['HS256'], issuer: ISSUER, clockTolerance: CLOCK_TOLERANCE_SECONDS });
      if (typeof decoded === 'string') throw new Error('unexpected payload');
      claims = decoded;
    } catch (err) {
      if (err instanceof jwt.TokenExpiredError) throw new AuthenticationError('令牌已过期', { reason: 'token_expired' });
      if (err instanceof jwt.NotBeforeError) throw new AuthenticationError('令牌尚未生效', { reason: 'token_not_yet_valid' });
      throw new AuthenticationError('令牌无效', { reason: 'token_invalid' });
    }
    if (claims.typ !== expected) {
      throw new AuthenticationError(expected === 'access' ? '需要访问令牌，不能使用刷新令牌' : '需要刷新令牌', {
        reason: 'wrong_token_type',
      });
    }
    const userId = Number(claims.sub);
    if (
      !Number.isSafeInteger(userId) ||
      typeof claims.ver !== 'number' ||
      typeof claims.exp !== 'number' ||
      typeof claims.jti !== 'string' ||
      (claims.fam !== undefined && typeof claims.fam !== 'string')
    ) {
      throw new AuthenticationError('令牌无效', { reason: 'token_invalid' });
    }
    return { userId, version: claims.ver, jti: claims.jti, family: claims.fam, expiresAt: new Date(claims.exp * 1000) };
  }
}

/** Extracts the token of an `Authorization: Bearer <token>` header; undefined when absent. */
export function bearerToken(header: string | undefined | null): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

const VERIFIED = Symbol('whalefall.verifiedAccessToken');

/**
 * The HTTP front verifies a request's access token once (to key the user's rate limit) and leaves the
 * result on the request, so building the request context does not verify the same signature again.
 */
export function rememberVerifiedAccess(req: object, token: string, verified: VerifiedToken): void {
  (req as { [VERIFIED]?: { token: string; verified: VerifiedToken } })[VERIFIED] = { token, verified };
}

export function verifiedAccessOf(req: object | undefined, token: string): VerifiedToken | undefined {
  const memo = req && (req as { [VERIFIED]?: { token: string; verified: VerifiedToken } })[VERIFIED];
  return memo && memo.token === token ? memo.verified : undefined;
}
