/** Dashboard operations (SPEC §3.11, §4.3): any signed-in user. */
import { z } from 'zod';
import { operation } from './operation.js';
import { checkDateRange, listQuerySchema } from '../lib/pagination.js';
import * as dash from '../services/dashboard/dashboard-service.js';

export const overviewOp = operation({ name: 'dashboardOverview', requires: 'authenticated', input: z.object({}), run: (ctx) => dash.overview(ctx.deps) });
const DAY_MS = 86_400_000;

/**
 * The chart range: `days` (the last N UTC days, today included; default 7) or start_date/end_date,
 * with `granularity` hour or day (default: hours for ranges up to two days, days beyond).
 */
const chartInput = listQuerySchema({ sortFields: { id: 'id' }, defaultSort: 'id' })
  .pick({ startDate: true, endDate: true })
  .extend({
    days: z.coerce.number({ invalid_type_error: 'days 必须是整数' }).int().min(1, 'days 至少为 1').max(366, 'days 最多为 366').optional(),
    granularity: z.enum(['hour', 'day'], { errorMap: () => ({ message: 'granularity 只能是 hour 或 day' }) }).optional(),
  })
  .superRefine(checkDateRange)
  .transform((q, ctx): dash.ChartRange => {
    const now = new Date();
    const end = q.endDate ?? now;
    const start = q.startDate ?? (q.days || !q.endDate ? new Date(dash.startOfUtcDay(end).getTime() - ((q.days ?? 7) - 1) * DAY_MS) : new Date(end.getTime() - 7 * DAY_MS));
    const granularity = q.granularity ?? (q.days || end.getTime() - start.getTime() > 2 * DAY_MS ? 'day' : 'hour');
    const range = { start, end, granularity };
    if (dash.bucketsOf(range).length > dash.MAX_BUCKETS) {
      ctx.addIssue({ code: 'custom', path: ['granularity'], message: `范围过大: 最多 ${dash.MAX_BUCKETS} 个时间桶 (改用 granularity=day 或缩小范围)` });
      return z.NEVER;
    }
    return range;
  });

export const chartsOp = operation({
  name: 'dashboardCharts',
  requires: 'authenticated',
  input: chartInput,
  run: (ctx, range) => dash.charts(ctx.deps, range),
});
export const activitiesOp = operation({
  name: 'dashboardActivities',
  requires: 'authenticated',
  input: listQuerySchema({ sortFields: { id: 'id' }, defaultSort: 'id' }),
  run: (ctx, q) => dash.activities(ctx.deps, q),
});
export const statusOp = operation({ name: 'dashboardStatus', requires: 'authenticated', input: z.object({}), run: (ctx) => dash.systemStatus(ctx.deps) });
