/** System health as GraphQL (public, like the REST health endpoints). */
import { builder } from './builder.js';
import { detailedHealth } from '../services/health/health-service.js';

type Detailed = Awaited<ReturnType<typeof detailedHealth>>;
type Component = Detailed['components']['database'];

const ComponentHealth = builder.objectRef<Component>('ComponentHealth').implement({
  fields: (t) => ({
    healthy: t.exposeBoolean('healthy'),
    status: t.exposeString('status'),
    responseTimeMs: t.exposeFloat('responseTimeMs', { nullable: true }),
  }),
});

const Health = builder.objectRef<Detailed>('Health').implement({
  fields: (t) => ({
    status: t.exposeString('status', { description: 'healthy, degraded (Redis down) or unhealthy (database down)' }),
    version: t.exposeString('version'),
    timestamp: t.exposeString('timestamp'),
    uptimeSeconds: t.exposeInt('uptimeSeconds'),
    database: t.field({ type: ComponentHealth, resolve: (h) => h.components.database }),
    redis: t.field({ type: ComponentHealth, resolve: (h) => h.components.redis }),
  }),
});

builder.queryFields((t) => ({
  health: t.field({
    type: Health,
    description: 'Public: database and Redis state',
    resolve: (_root, _args, ctx) => detailedHealth(ctx.deps),
  }),
}));
