/**
 * A TCP proxy on 127.0.0.1 between the gateway and a real server (PostgreSQL, Redis, a managed
 * instance), so a test can make that server "restart", "die" or "freeze" for the gateway without
 * touching the shared server other test files use at the same time.
 *
 * - cut(): every proxied connection is destroyed and new ones are refused (the listener is closed:
 *   clients get ECONNREFUSED), as during a restart, until resume() listens on the same port again.
 * - freeze(): connections are accepted but nothing is forwarded either way (a partitioned or hung
 *   server: no reset, no answer), until resume().
 * - latencyMs: every chunk is held this long in each direction (slow network, slow server).
 * - cutWhen: inspects each chunk (`up` = client → server) and cuts everything when it returns true,
 *   e.g. when a particular query goes up (an instance dying in the middle of a sync).
 */
import net from 'node:net';

export interface TcpProxyOptions {
  targetHost?: string;
  targetPort: number;
  latencyMs?: number;
  cutWhen?: (chunk: Buffer, direction: 'up' | 'down') => boolean;
}

export interface TcpProxy {
  readonly port: number;
  /** Connections accepted since start. */
  readonly accepted: number;
  /** Proxied connections open now. */
  readonly open: number;
  /** The most proxied connections that were open at the same time. */
  readonly maxOpen: number;
  latencyMs: number;
  cutWhen?: TcpProxyOptions['cutWhen'];
  /** `url` (postgresql://, redis://, …) with host and port replaced by the proxy's. */
  url(url: string): string;
  cut(): Promise<void>;
  freeze(): void;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(opts: TcpProxyOptions): Promise<TcpProxy> {
  const targetHost = opts.targetHost ?? '127.0.0.1';
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  let state: 'forwarding' | 'frozen' | 'refusing' = 'forwarding';
  let accepted = 0;
  let maxOpen = 0;
  let closed = false;

  const destroyAll = () => {
    for (const p of pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    pairs.clear();
  };

  const server = net.createServer((client) => {
    accepted++;
    client.on('error', () => {});
    if (state === 'refusing') return void client.destroy();
    const upstream = net.connect(opts.targetPort, targetHost);
    upstream.on('error', () => {});
    const pair = { client, upstream };
    pairs.add(pair);
    maxOpen = Math.max(maxOpen, pairs.size);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    const pipe = (from: net.Socket, to: net.Socket, direction: 'up' | 'down') => {
      from.on('data', (chunk: Buffer) => {
        if (state === 'frozen') return; // swallowed: the peer never hears back
        if (proxy.cutWhen?.(chunk, direction)) {
          void proxy.cut();
          return;
        }
        if (proxy.latencyMs > 0) setTimeout(() => to.destroyed || to.write(chunk), proxy.latencyMs);
        else to.write(chunk);
      });
    };
    pipe(client, upstream, 'up');
    pipe(upstream, client, 'down');
  });

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  const stopListening = () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));

  const port = await listen(0);

  const proxy: TcpProxy = {
    port,
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    get maxOpen() {
      return maxOpen;
    },
    latencyMs: opts.latencyMs ?? 0,
    cutWhen: opts.cutWhen,
    url(url: string) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    async cut() {
      if (state === 'refusing') return;
      state = 'refusing';
      const closing = stopListening();
      destroyAll();
      await closing;
    },
    freeze() {
      state = 'frozen';
    },
    async resume() {
      if (closed) return;
      if (state === 'frozen') destroyAll(); // what was swallowed is lost: those connections are dead
      state = 'forwarding';
      if (!server.listening) await listen(port);
    },
    async close() {
      closed = true;
      state = 'refusing';
      const closing = stopListening();
      destroyAll();
      await closing;
    },
  };
  return proxy;
}
