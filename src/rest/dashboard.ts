/** Dashboard REST: /api/overview|charts|activities|status and /dashboard/api/… (SPEC §4.3). */
import { Router } from 'express';
import type { AppDeps } from '../deps.js';
import * as ops from '../resolvers/dashboard.js';
import { sendPage, sendSuccess } from './envelope.js';
import { queryInput, rest } from './handler.js';
import { logJson } from './logs.js';

const both = (p: string) => [`/api/${p}`, `/dashboard/api/${p}`];
const snakeKeys = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(snakeKeys)
    : v && typeof v === 'object' && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeKeys(x)]))
      : v;

export function dashboardRoutes(deps: AppDeps): Router {
  const r = Router();
  r.get(both('overview'), rest(deps, ops.overviewOp, () => ({}), (res, o) => sendSuccess(res, snakeKeys(o))));
  r.get(both('charts'), rest(deps, ops.chartsOp, queryInput, (res, c) => sendSuccess(res, snakeKeys(c))));
  r.get(both('activities'), rest(deps, ops.activitiesOp, queryInput, (res, page) => sendPage(res, page, logJson)));
  r.get(both('status'), rest(deps, ops.statusOp, () => ({}), (res, s) => sendSuccess(res, snakeKeys(s))));
  return r;
}
