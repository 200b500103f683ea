/** POST /auth/login, POST /api/refresh, GET|POST /auth/logout, GET /api/me (+ upstream /auth/api/... paths). */
import { Router, type Request } from 'express';
import type { AppDeps } from '../deps.js';
import { loginOp, logoutOp, meOp, refreshOp } from '../resolvers/auth.js';
import { sendSuccess } from './envelope.js';
import { bodyInput, rest } from './handler.js';
import { userJson } from './serializers.js';

export function authRoutes(deps: AppDeps): Router {
  const r = Router();
  r.post(
    '/auth/login',
    rest(deps, loginOp, bodyInput, (res, out) =>
      sendSuccess(
        res,
        {
          access_token: out.accessToken,
          refresh_token: out.refreshToken,
          token_type: out.tokenType,
          expires_in: out.expiresIn,
          user: userJson(out.user),
        },
        '登录成功',
      ),
    ),
  );
  r.post(
    ['/api/refresh', '/auth/api/refresh'],
    rest(deps, refreshOp, (req) => ({ refreshToken: typeof req.body?.refresh_token === 'string' ? req.body.refresh_token : undefined }), (res, out) =>
      sendSuccess(
        res,
        { access_token: out.accessToken, refresh_token: out.refreshToken, token_type: out.tokenType, expires_in: out.expiresIn },
        '令牌刷新成功',
      ),
    ),
  );
  const refreshTokenOf = (req: Request) => ({ refreshToken: typeof req.body?.refresh_token === 'string' ? req.body.refresh_token : undefined });
  r.get('/auth/logout', rest(deps, logoutOp, () => ({}), (res) => sendSuccess(res, null, '登出成功')));
  r.post('/auth/logout', rest(deps, logoutOp, refreshTokenOf, (res) => sendSuccess(res, null, '登出成功')));
  r.get(
    ['/api/me', '/auth/api/me'],
    rest(deps, meOp, () => ({}), (res, out) => sendSuccess(res, { ...userJson(out), permissions: out.permissions })),
  );
  return r;
}
