/** /api/users and /user-management/api/users (SPEC §4.9). */
import { Router } from 'express';
import type { AppDeps } from '../deps.js';
import * as ops from '../resolvers/users.js';
import { sendPage, sendSuccess } from './envelope.js';
import { bodyInput, queryInput, rest } from './handler.js';
import { userJson } from './serializers.js';

const both = (p: string) => [`/api${p}`, `/user-management/api${p}`];

export function userRoutes(deps: AppDeps): Router {
  const r = Router();
  // /users/stats before /users/:id so "stats" is never taken for an id.
  r.get(both('/users/stats'), rest(deps, ops.userStatsOp, () => ({}), (res, stats) => sendSuccess(res, stats)));
  r.get(both('/users'), rest(deps, ops.listUsersOp, queryInput, (res, page) => sendPage(res, page, userJson)));
  r.get(both('/users/:id'), rest(deps, ops.getUserOp, (req) => ({ id: req.params.id }), (res, u) => sendSuccess(res, userJson(u))));
  r.post(
    both('/users'),
    rest(deps, ops.createUserOp, bodyInput, (res, u) => sendSuccess(res, userJson(u), '用户创建成功', 201)),
  );
  r.put(
    both('/users/:id'),
    rest(deps, ops.updateUserOp, (req) => ({ ...bodyInput(req), id: req.params.id }), (res, u) => sendSuccess(res, userJson(u), '用户更新成功')),
  );
  r.delete(
    both('/users/:id'),
    rest(deps, ops.deleteUserOp, (req) => ({ id: req.params.id }), (res, d) => sendSuccess(res, { id: d.id }, '用户删除成功')),
  );
  r.post(
    both('/users/:id/toggle-status'),
    rest(deps, ops.toggleUserStatusOp, (req) => ({ id: req.params.id }), (res, u) =>
      sendSuccess(res, userJson(u), u.isActive ? '用户启用成功' : '用户禁用成功'),
    ),
  );
  return r;
}
