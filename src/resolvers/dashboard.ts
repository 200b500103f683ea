/** Dashboard operations (SPEC §3.11, §4.3): any signed-in user. */
import { z } from 'zod';
import { operation } from './operation.js';
import { listQuerySchema } from '../lib/pagination.js';
import * as dash from '../services/dashboard/dashboard-service.js';

export const overviewOp = operation({ name: 'dashboardOverview', requires: 'authenticated', input: z.object({}), run: (ctx) => dash.overview(ctx.deps) });
export const chartsOp = operation({
  name: 'dashboardCharts',
  requires: 'authenticated',
  input: z.object({ days: z.coerce.number({ invalid_type_error: 'days 必须是整数' }).int().min(1, 'days 至少为 1').max(366, 'days 最多为 366').default(7) }),
  run: (ctx, { days }) => dash.charts(ctx.deps, days),
});
export const activitiesOp = operation({
  name: 'dashboardActivities',
  requires: 'authenticated',
  input: listQuerySchema({ sortFields: { id: 'id' }, defaultSort: 'id' }),
  run: (ctx, q) => dash.activities(ctx.deps, q),
});
export const statusOp = operation({ name: 'dashboardStatus', requires: 'authenticated', input: z.object({}), run: (ctx) => dash.systemStatus(ctx.deps) });
