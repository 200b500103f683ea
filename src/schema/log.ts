/** Live unified log stream (the searchable log API arrives with the unified-log issue). */
import { builder, scopesFor } from './builder.js';
import type { LogEvent } from '../realtime/pubsub.js';
import { z } from 'zod';
import { parseInput } from '../lib/validation.js';

export const LogLevelEnum = builder.enumType('LogLevel', { values: ['INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const });

const LEVEL_RANK: Record<string, number> = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3, CRITICAL: 4 };

export const LogEntry = builder.objectRef<LogEvent>('LogEntry').implement({
  description: 'One unified log event',
  fields: (t) => ({
    id: t.exposeInt('id'),
    timestamp: t.exposeString('timestamp'),
    level: t.exposeString('level'),
    module: t.exposeString('module'),
    message: t.exposeString('message'),
    context: t.expose('context', { type: 'JSON', nullable: true }),
  }),
});

const filterInput = z.object({
  minLevel: z.enum(['INFO', 'WARNING', 'ERROR', 'CRITICAL']).nullish(),
  module: z.string().max(100).nullish(),
});

builder.subscriptionFields((t) => ({
  logCreated: t.field({
    type: LogEntry,
    description: 'Every new unified log event at or above minLevel, optionally of one module',
    authScopes: scopesFor('view'),
    args: { minLevel: t.arg({ type: LogLevelEnum }), module: t.arg.string() },
    subscribe: (_root, args, ctx) => {
      const f = parseInput(filterInput, args);
      const min = LEVEL_RANK[f.minLevel ?? 'INFO']!;
      const source = ctx.deps.pubsub.subscribe('log.created');
      return (async function* () {
        for await (const e of source) {
          if ((LEVEL_RANK[e.level] ?? 0) >= min && (!f.module || e.module === f.module)) yield e;
        }
      })();
    },
    resolve: (e) => e,
  }),
}));
