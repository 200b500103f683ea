/** Dashboard: `dashboard { overview charts(days, startDate, endDate, granularity) activities status }`, the same functions as REST. */
import { builder, scopesFor } from './builder.js';
import { execute } from '../resolvers/operation.js';
import * as ops from '../resolvers/dashboard.js';

const Dashboard = builder.objectRef<object>('Dashboard').implement({
  description: 'Figures for the first screen; each computed by the module that owns it',
  fields: (t) => ({
    overview: t.field({ type: 'JSON', resolve: (_d, _a, ctx) => execute(ops.overviewOp, ctx, {}) }),
    charts: t.field({
      type: 'JSON',
      description: 'Zero-filled UTC series: logTrend (per level), syncTrend (per outcome), accountChangeTrend (per type), classificationTrend',
      args: {
        days: t.arg.int({ description: 'the last N UTC days (default 7)' }),
        startDate: t.arg.string(),
        endDate: t.arg.string(),
        granularity: t.arg.string({ description: 'hour or day' }),
      },
      resolve: (_d, a, ctx) => execute(ops.chartsOp, ctx, Object.fromEntries(Object.entries(a).filter(([, v]) => v != null))),
    }),
    activities: t.field({
      type: 'JSON',
      args: { page: t.arg.int(), perPage: t.arg.int() },
      resolve: async (_d, a, ctx) => (await execute(ops.activitiesOp, ctx, { page: a.page ?? undefined, perPage: a.perPage ?? undefined })).items,
    }),
    status: t.field({ type: 'JSON', resolve: (_d, _a, ctx) => execute(ops.statusOp, ctx, {}) }),
  }),
});

builder.queryFields((t) => ({
  dashboard: t.field({ type: Dashboard, authScopes: scopesFor('authenticated'), resolve: () => ({}) }),
}));
