/**
 * Prometheus metrics (prom-client), one registry per gateway instance (tests run several in one
 * process). Served at GET /metrics (METRICS_TOKEN, when set, must be presented as a bearer token).
 *
 * Labels are bounded: HTTP routes are the Express route patterns (never raw URLs), GraphQL
 * operations are operation names (anonymous ones share one label), statuses and types are enums.
 */
import type { Request, Response, NextFunction } from 'express';
import type { Plugin } from '@envelop/core';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type pg from 'pg';
import { liveHeapBytes } from './live-heap.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const WORK_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'whalefall_http_request_duration_seconds',
    help: 'REST request latency by route pattern, method and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly graphqlDuration = new Histogram({
    name: 'whalefall_graphql_operation_duration_seconds',
    help: 'GraphQL execution latency by operation name, type and outcome',
    labelNames: ['operation', 'type', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly syncDuration = new Histogram({
    name: 'whalefall_sync_instance_duration_seconds',
    help: 'Account sync of one instance, by database type and outcome',
    labelNames: ['db_type', 'outcome'] as const,
    buckets: WORK_BUCKETS,
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: 'whalefall_job_run_duration_seconds',
    help: 'Scheduled job runs by task type and outcome',
    labelNames: ['task_type', 'outcome'] as const,
    buckets: WORK_BUCKETS,
    registers: [this.registry],
  });
  readonly classifyDuration = new Histogram({
    name: 'whalefall_classification_batch_duration_seconds',
    help: 'Auto-classification batches by type and outcome',
    labelNames: ['batch_type', 'outcome'] as const,
    buckets: WORK_BUCKETS,
    registers: [this.registry],
  });
  readonly droppedLogEntries = new Counter({
    name: 'whalefall_log_stream_dropped_total',
    help: 'Live log entries dropped for slow subscribers (their buffer was full)',
    registers: [this.registry],
  });

  constructor(sources: { pool: pg.Pool; liveLogSubscribers: () => number; wsConnections: () => number }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'whalefall_' });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    gauge('whalefall_db_pool_connections', 'Connections open in the platform database pool', () => sources.pool.totalCount);
    gauge('whalefall_db_pool_idle', 'Idle connections in the platform database pool', () => sources.pool.idleCount);
    gauge('whalefall_db_pool_waiting', 'Queries waiting for a platform database connection', () => sources.pool.waitingCount);
    gauge('whalefall_log_stream_subscribers', 'Live log stream subscribers', sources.liveLogSubscribers);
    gauge('whalefall_websocket_connections', 'Open graphql-ws connections', sources.wsConnections);
    liveHeapBytes(); // starts watching collections now, so the first scrape after a full GC has a figure
    gauge('whalefall_heap_live_bytes', 'V8 heap in use right after the last full GC (retained memory; NaN before the first one)', liveHeapBytes);
  }

  /** Express middleware: times every REST request by its route pattern. */
  http() {
    return (req: Request, res: Response, next: NextFunction) => {
      const end = this.httpDuration.startTimer();
      res.once('finish', () => {
        const pattern = req.route?.path as string | string[] | RegExp | undefined;
        const route = pattern === undefined ? 'unmatched' : `${req.baseUrl}${Array.isArray(pattern) ? pattern[0] : String(pattern)}`;
        end({ method: req.method, route, status: String(res.statusCode) });
      });
      next();
    };
  }

  /** Envelop plugin: times every GraphQL execution by operation name. */
  graphql(): Plugin {
    const histogram = this.graphqlDuration;
    return {
      onExecute({ args }) {
        const op = args.document.definitions.find((d: { kind: string }) => d.kind === 'OperationDefinition') as { operation?: string; name?: { value: string } } | undefined;
        const labels = { operation: args.operationName ?? op?.name?.value ?? 'anonymous', type: op?.operation ?? 'query' };
        const end = histogram.startTimer();
        return {
          onExecuteDone({ result }) {
            const errors = 'errors' in (result as object) && (result as { errors?: unknown[] }).errors?.length;
            end({ ...labels, outcome: errors ? 'error' : 'ok' });
          },
        };
      },
    };
  }
}

/** Seconds since `startedMs`. */
export const secondsSince = (startedMs: number) => (Date.now() - startedMs) / 1000;
