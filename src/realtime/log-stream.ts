/**
 * Fan-out of new unified log entries to live subscribers.
 *
 * One listener per process on the pub/sub event target (one Redis channel, one JSON parse per entry)
 * copies each entry into a bounded queue per subscriber, synchronously. A subscriber whose socket
 * is slow therefore never holds up the others or the publisher.
 *
 * Drop policy: when a subscriber's queue is full, the OLDEST queued entry is discarded (a live view
 * is about now) and counted; the next entry delivered to that subscriber carries the count
 * (`dropped`), so the client knows to fetch the gap from the log API (entries after its last id).
 */
import type { LogEvent, PubSub, Topics } from './pubsub.js';

export const DEFAULT_LOG_STREAM_BUFFER = 1000;
const LOG_TOPIC = 'log.created' satisfies keyof Topics;

/**
 * What a subscriber receives. Entries arrive as ONE object shared by every subscriber (so GraphQL
 * executes each entry once per distinct operation, see graphql/shared-subscription-results.ts); a
 * subscriber that dropped entries gets its own copy carrying the count.
 */
export interface StreamedLog {
  entry: LogEvent;
  /** Matching entries discarded for this subscriber just before `entry`. */
  dropped: number;
  /** Read from the database (a reconnect's replay) rather than live. */
  replayed: boolean;
}

export type LogPredicate = (e: LogEvent) => boolean;

export class LogSubscriber implements AsyncIterableIterator<StreamedLog> {
  private readonly queue: StreamedLog[] = [];
  private droppedSinceLast = 0;
  private waiter?: (r: IteratorResult<StreamedLog>) => void;
  private closed = false;
  /** Total entries discarded over this subscriber's life (for metrics and tests). */
  droppedTotal = 0;

  constructor(
    private readonly matches: LogPredicate,
    private readonly capacity: number,
    private readonly onClose: (s: LogSubscriber) => void,
    private readonly onDrop: () => void = () => {},
  ) {}

  /** Called by the broadcaster for every new entry; never blocks. */
  offer(e: StreamedLog): void {
    if (this.closed || !this.matches(e.entry)) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: this.take(e), done: false });
      return;
    }
    if (this.queue.length >= this.capacity) {
      this.queue.shift();
      this.droppedSinceLast++;
      this.droppedTotal++;
      this.onDrop();
    }
    this.queue.push(e);
  }

  private take(e: StreamedLog): StreamedLog {
    if (this.droppedSinceLast === 0) return e;
    const dropped = this.droppedSinceLast;
    this.droppedSinceLast = 0;
    return { ...e, dropped };
  }

  next(): Promise<IteratorResult<StreamedLog>> {
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    const e = this.queue.shift();
    if (e) return Promise.resolve({ value: this.take(e), done: false });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  return(): Promise<IteratorResult<StreamedLog>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.waiter?.({ value: undefined, done: true });
    this.waiter = undefined;
    this.onClose(this);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

export class LogBroadcaster {
  private readonly subscribers = new Set<LogSubscriber>();
  private readonly listener = (ev: Event) => {
    const shared: StreamedLog = { entry: (ev as CustomEvent<LogEvent>).detail, dropped: 0, replayed: false };
    for (const s of this.subscribers) s.offer(shared);
  };
  private listening = false;

  constructor(
    private readonly pubsub: PubSub,
    private readonly capacity = DEFAULT_LOG_STREAM_BUFFER,
    /** Called for every entry dropped for a slow subscriber (metrics). */
    private readonly onDrop: () => void = () => {},
  ) {}

  get size(): number {
    return this.subscribers.size;
  }

  /** Starts buffering matching entries at once (before any replay), so nothing falls in between. */
  subscribe(matches: LogPredicate): LogSubscriber {
    const s = new LogSubscriber(matches, this.capacity, (x) => this.remove(x), this.onDrop);
    this.subscribers.add(s);
    if (!this.listening) {
      this.listening = true;
      this.pubsub.target.addEventListener(LOG_TOPIC, this.listener);
    }
    return s;
  }

  private remove(s: LogSubscriber): void {
    this.subscribers.delete(s);
    if (this.subscribers.size === 0 && this.listening) {
      this.listening = false;
      this.pubsub.target.removeEventListener(LOG_TOPIC, this.listener);
    }
  }

  close(): void {
    for (const s of [...this.subscribers]) s.close();
  }
}
