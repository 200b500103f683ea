/** Typed topics for live updates; in-process for one replica, Redis-backed across replicas. */
import type { Redis } from 'ioredis';
import { createPubSub } from 'graphql-yoga';
import { RedisEventTarget } from './redis-event-target.js';

/** A unified log row as published to subscribers (timestamps as ISO strings: they may cross Redis). */
export interface LogEvent {
  id: number;
  timestamp: string;
  level: string;
  module: string;
  message: string;
  context: Record<string, unknown> | null;
  userId: number | null;
  instanceId: number | null;
  requestId: string | null;
  createdAt: string;
}

export interface SyncProgressEvent {
  sessionId: string;
  status: string;
  totalInstances: number;
  successfulInstances: number;
  failedInstances: number;
  instanceId?: number;
  instanceName?: string;
  instanceStatus?: string;
  message?: string;
}

/** An account alert as published to subscribers (src/services/alerts). */
export interface AlertEvent {
  id: number;
  ruleId: number | null;
  ruleName: string;
  kind: string;
  severity: string;
  instanceId: number;
  instanceName: string;
  dbType: string;
  accountId: number | null;
  username: string;
  changeType: string;
  changeLogId: number | null;
  sessionId: string | null;
  message: string;
  details: Record<string, unknown>;
  createdAt: string;
}

export type Topics = {
  'log.created': [LogEvent];
  'sync.progress': [sessionId: string, event: SyncProgressEvent];
  'sync.progress.all': [SyncProgressEvent];
  /** A session with queued records was created: every replica's sync worker looks for work. */
  'sync.work': [{ sessionId: string }];
  /** A user changed (disabled, role, deleted): replicas drop their cached auth state. */
  'user.changed': [{ id: number }];
  /** An alert rule matched an account change (the accountAlerts subscription). */
  'alert.created': [AlertEvent];
};

/**
 * `target` is the event target under the topics (event type = topic name, payload in `detail`):
 * high-volume fan-out (the log stream) listens on it directly instead of through a subscription's
 * queue, which is unbounded.
 */
export type PubSub = ReturnType<typeof createPubSub<Topics>> & {
  readonly target: EventTarget;
  /** Settles once events from other replicas can arrive (at once without Redis). */
  readonly ready: Promise<void>;
};

export function createAppPubSub(redis?: { publisher: Redis; subscriber: Redis; prefix: string }): PubSub {
  const target = redis ? new RedisEventTarget(redis.publisher, redis.subscriber, `${redis.prefix}events:`) : new EventTarget();
  const ready = target instanceof RedisEventTarget ? target.ready : Promise.resolve();
  return Object.assign(createPubSub<Topics>({ eventTarget: target as never }), { target, ready });
}

/**
 * Subscribes to `topic:id` NOW. yoga's pubsub.subscribe() only starts listening when its iterator is
 * first read, so "subscribe, read the current state, then iterate" would miss whatever is published
 * while the state is read; with this, nothing published after the call is missed.
 */
export function subscribeNow<K extends 'sync.progress'>(pubsub: PubSub, topic: K, id: string): AsyncIterableIterator<Topics[K][1]> {
  type T = Topics[K][1];
  const type = `${topic}:${id}`;
  const queue: T[] = [];
  let waiter: ((r: IteratorResult<T>) => void) | undefined;
  let done = false;
  const listener = (ev: Event) => {
    const value = (ev as CustomEvent<T>).detail;
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w({ value, done: false });
    } else queue.push(value);
  };
  pubsub.target.addEventListener(type, listener);
  const finish = (): Promise<IteratorResult<T>> => {
    if (!done) {
      done = true;
      pubsub.target.removeEventListener(type, listener);
      queue.length = 0;
      waiter?.({ value: undefined, done: true });
      waiter = undefined;
    }
    return Promise.resolve({ value: undefined, done: true });
  };
  return {
    next: () => {
      if (queue.length) return Promise.resolve({ value: queue.shift()!, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => (waiter = resolve));
    },
    return: finish,
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
