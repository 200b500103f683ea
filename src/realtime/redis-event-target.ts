/**
 * An EventTarget whose events travel through Redis pub/sub, so a subscription served by one replica
 * sees events published by any other. Payloads are JSON; Dates arrive as ISO strings.
 */
import type { Redis } from 'ioredis';

type Listener = EventListenerOrEventListenerObject;

export class RedisEventTarget implements EventTarget {
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly channelPrefix: string,
  ) {
    subscriber.on('message', (channel: string, message: string) => {
      if (!channel.startsWith(channelPrefix)) return;
      const type = channel.slice(channelPrefix.length);
      let detail: unknown;
      try {
        detail = JSON.parse(message);
      } catch {
        return;
      }
      const event = new CustomEvent(type, { detail });
      for (const l of this.listeners.get(type) ?? []) {
        if (typeof l === 'function') l(event);
        else l.handleEvent(event);
      }
    });
  }

  addEventListener(type: string, listener: Listener | null): void {
    if (!listener) return;
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
      void this.subscriber.subscribe(this.channelPrefix + type).catch(() => {});
    }
    set.add(listener);
  }

  removeEventListener(type: string, listener: Listener | null): void {
    const set = this.listeners.get(type);
    if (!set || !listener) return;
    set.delete(listener);
    if (set.size === 0) {
      this.listeners.delete(type);
      void this.subscriber.unsubscribe(this.channelPrefix + type).catch(() => {});
    }
  }

  dispatchEvent(event: Event): boolean {
    const detail = (event as CustomEvent).detail;
    void this.publisher.publish(this.channelPrefix + event.type, JSON.stringify(detail ?? null)).catch(() => {});
    return true;
  }
}
