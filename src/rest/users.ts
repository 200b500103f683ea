/** /api/users and /user-management/api/users (SPEC §4.9). */
import * as ops from '../resolvers/users.js';
import { sendPage, sendSuccess } from './envelope.js';
import type { RouteModule } from './route-table.js';
import { userJson } from './serializers.js';

const both = (p: string) => [`/api${p}`, `/user-management/api${p}`];

export function userRoutes(api: RouteModule): void {
  // /users/stats before /users/:id so "stats" is never taken for an id.
  api.get(both('/users/stats'), { summary: '用户统计', op: ops.userStatsOp, present: (res, stats) => sendSuccess(res, stats) });
  api.get(both('/users'), { summary: '用户列表', op: ops.listUsersOp, from: 'query', response: 'page', present: (res, page) => sendPage(res, page, userJson) });
  api.get(both('/users/:id'), { summary: '用户详情', op: ops.getUserOp, present: (res, u) => sendSuccess(res, userJson(u)) });
  api.post(both('/users'), {
    summary: '创建用户',
    op: ops.createUserOp,
    from: 'body',
    status: 201,
    errors: [409],
    example: { username: 'dba_zhang', password: 'Str0ngPassw0rd', role: 'user', email: 'zhang@example.com' },
    present: (res, u) => sendSuccess(res, userJson(u), '用户创建成功', 201),
  });
  api.put(both('/users/:id'), {
    summary: '更新用户 (密码留空则不变)',
    op: ops.updateUserOp,
    from: 'body',
    errors: [409, 422],
    example: { email: 'zhang@example.com', role: 'viewer' },
    present: (res, u) => sendSuccess(res, userJson(u), '用户更新成功'),
  });
  api.delete(both('/users/:id'), {
    summary: '删除用户',
    op: ops.deleteUserOp,
    errors: [422],
    present: (res, d) => sendSuccess(res, { id: d.id }, '用户删除成功'),
  });
  api.post(both('/users/:id/toggle-status'), {
    summary: '启用/禁用用户',
    op: ops.toggleUserStatusOp,
    errors: [422],
    present: (res, u) => sendSuccess(res, userJson(u), u.isActive ? '用户启用成功' : '用户禁用成功'),
  });
}
