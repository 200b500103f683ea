/** POST /auth/login, POST /api/refresh, GET|POST /auth/logout, GET /api/me (+ upstream /auth/api/... paths). */
import type { Request } from 'express';
import { loginOp, logoutOp, meOp, refreshOp } from '../resolvers/auth.js';
import { sendSuccess } from './envelope.js';
import type { RouteModule } from './route-table.js';
import { userJson } from './serializers.js';

/** Only a string refresh_token in the body counts; otherwise the bearer header is the token. */
const refreshTokenOf = (req: Request) => ({ refreshToken: typeof req.body?.refresh_token === 'string' ? req.body.refresh_token : undefined });

export function authRoutes(api: RouteModule): void {
  api.post('/auth/login', {
    summary: '登录 (JSON 或表单)，返回访问令牌与刷新令牌',
    op: loginOp,
    from: 'body',
    formBody: true,
    errors: [401, 403, 429],
    example: { username: 'admin', password: 'your-password' },
    present: (res, out) =>
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
  });
  api.post(['/api/refresh', '/auth/api/refresh'], {
    summary: '用刷新令牌换取新的访问令牌与新的刷新令牌 (Authorization: Bearer <refresh_token>，或请求体 refresh_token；旧刷新令牌随即失效)',
    op: refreshOp,
    from: 'body',
    toInput: refreshTokenOf,
    errors: [401, 429],
    present: (res, out) =>
      sendSuccess(
        res,
        { access_token: out.accessToken, refresh_token: out.refreshToken, token_type: out.tokenType, expires_in: out.expiresIn },
        '令牌刷新成功',
      ),
  });
  api.get('/auth/logout', {
    id: 'logoutGet',
    summary: '登出: 撤销 Authorization 头中令牌所属的会话',
    op: logoutOp,
    toInput: () => ({}),
    errors: [401],
    present: (res) => sendSuccess(res, null, '登出成功'),
  });
  api.post('/auth/logout', {
    summary: '登出: 撤销请求体 refresh_token (或 Authorization 头中令牌) 所属的会话',
    op: logoutOp,
    from: 'body',
    toInput: refreshTokenOf,
    errors: [401],
    present: (res) => sendSuccess(res, null, '登出成功'),
  });
  api.get(['/api/me', '/auth/api/me'], {
    summary: '当前用户及其权限',
    op: meOp,
    present: (res, out) => sendSuccess(res, { ...userJson(out), permissions: out.permissions }),
  });
}
