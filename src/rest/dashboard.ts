/** Dashboard REST: /api/overview|charts|activities|status and /dashboard/api/… (SPEC §4.3). */
import * as ops from '../resolvers/dashboard.js';
import { sendPage, sendSuccess } from './envelope.js';
import type { RouteModule } from './route-table.js';
import { logJson } from './logs.js';

const both = (p: string) => [`/api/${p}`, `/dashboard/api/${p}`];
const snakeKeys = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(snakeKeys)
    : v && typeof v === 'object' && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeKeys(x)]))
      : v;

export function dashboardRoutes(api: RouteModule): void {
  api.get(both('overview'), { summary: '仪表板概览', op: ops.overviewOp, present: (res, o) => sendSuccess(res, snakeKeys(o)) });
  api.get(both('charts'), { summary: '图表数据 (days 或 start_date/end_date，granularity=hour|day)', op: ops.chartsOp, from: 'query', present: (res, c) => sendSuccess(res, snakeKeys(c)) });
  api.get(both('activities'), { summary: '最近活动', op: ops.activitiesOp, from: 'query', response: 'page', present: (res, page) => sendPage(res, page, logJson) });
  api.get(both('status'), { summary: '系统状态', op: ops.statusOp, present: (res, s) => sendSuccess(res, snakeKeys(s)) });
}
