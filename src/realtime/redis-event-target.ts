/**
 * An EventTarget whose events travel through Redis pub/sub, so a subscription served by one replica
 * sees events published by any other. Payloads are JSON; Dates arrive as ISO strings.
 *
 * One pattern subscription covers every topic (`<prefix>events:*`), made once at start and renewed
 * whenever the subscriber connection is ready again: a listener added later is live at once, with
 * no SUBSCRIBE round trip in between during which another replica's event could pass unseen (a
 * subscription that reads the current state and then listens would miss it). Messages of topics
 * nobody here listens to are dropped before they are parsed.
 *
 * Redis unavailable: events are delivered to this process's listeners directly (a single replica
 * keeps its live features); other replicas miss them until Redis is back. Nothing waits on Redis.
 */
import type { Redis } from 'ioredis';

type Listener = EventListenerOrEventListenerObject;

export class RedisEventTarget implements EventTarget {
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Settles once the first pattern subscription is active, or failed (Redis down at start). */
  readonly ready: Promise<void>;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly channelPrefix: string,
  ) {
    // REDIS_KEY_PREFIX allows no glob characters ([\w:.-]), so the prefix needs no escaping.
    const pattern = `${channelPrefix}*`;
    subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => {
      if (!channel.startsWith(channelPrefix)) return;
      const type = channel.slice(channelPrefix.length);
      if (!this.listeners.get(type)?.size) return;
      let detail: unknown;
      try {
        detail = JSON.parse(message);
      } catch {
        return;
      }
      this.deliver(type, detail);
    });
    // ioredis re-subscribes by itself after a reconnect, but only to subscriptions that succeeded
    // once: a process started while Redis was down subscribes when it first connects.
    subscriber.on('ready', () => void subscriber.psubscribe(pattern).catch(() => {}));
    this.ready = subscriber.psubscribe(pattern).then(
      () => {},
      () => {},
    );
  }

  /** Whether events currently cross replicas (both connections up). */
  get connected(): boolean {
    return this.publisher.status === 'ready' && this.subscriber.status === 'ready';
  }

  private deliver(type: string, detail: unknown): void {
    const event = new CustomEvent(type, { detail });
    for (const l of [...(this.listeners.get(type) ?? [])]) {
      if (typeof l === 'function') l(event);
      else l.handleEvent(event);
    }
  }

  addEventListener(type: string, listener: Listener | null): void {
    if (!listener) return;
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
  }

  removeEventListener(type: string, listener: Listener | null): void {
    const set = this.listeners.get(type);
    if (!set || !listener) return;
    set.delete(listener);
    if (set.size === 0) this.listeners.delete(type);
  }

  dispatchEvent(event: Event): boolean {
    const detail = (event as CustomEvent).detail ?? null;
    if (!this.connected) {
      this.deliver(event.type, detail);
      return true;
    }
    // Our own subscriber brings the event back to this process's listeners like everyone else's.
    this.publisher.publish(this.channelPrefix + event.type, JSON.stringify(detail)).catch(() => this.deliver(event.type, detail));
    return true;
  }
}
