/**
 * graphql-ws on the HTTP server's /graphql path, executing through yoga's envelope so the same
 * schema, plugins and context apply. A connection must authenticate in its connection params; an
 * anonymous or invalid one is closed with 4403 before any subscription starts.
 */
import type { Server } from 'node:http';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { AppDeps } from '../deps.js';
import type { Ctx } from '../context.js';
import { userForToken } from '../auth/authenticate.js';
import { WsSessions } from './ws-sessions.js';
import { bearerToken } from '../auth/tokens.js';
import { wsAuthorization } from './yoga.js';
import { RateLimitError } from '../lib/errors.js';
import { clientIpOf } from '../logging/request-context.js';

type EnvelopedArgs = ExecutionArgs & {
  rootValue: { execute: (args: ExecutionArgs) => unknown; subscribe: (args: ExecutionArgs) => unknown };
};

/** Below this many bytes queued on a socket, a send counts as done at once (see batchSends). */
const SEND_BUFFER_LIMIT = 256 * 1024;

/**
 * graphql-ws waits for each message's write callback before taking the next event of a
 * subscription, so every message would be its own syscall (writev dominated the fan-out profile in
 * bench/logs). Here a send completes at once while little is queued on the socket, and the socket
 * is corked until the current tick's messages are all queued, so they leave in one write. Past the
 * limit, sends wait for the socket again: that is how a slow client backs up into its subscription's
 * own bounded queue (the log stream's drop policy) instead of into memory here.
 */
function batchSends(socket: WebSocket): void {
  const send = socket.send.bind(socket) as (data: unknown, cb?: (err?: Error) => void) => void;
  const raw = (socket as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
  let corked = false;
  socket.send = ((data: unknown, cb?: (err?: Error) => void) => {
    if (raw && !corked) {
      corked = true;
      raw.cork();
      process.nextTick(() => {
        corked = false;
        raw.uncork();
      });
    }
    if (socket.bufferedAmount < SEND_BUFFER_LIMIT) {
      send(data);
      cb?.();
    } else send(data, cb);
  }) as WebSocket['send'];
}

/**
 * Close code of a handshake refused by the rate limit: graphql-ws' "too many initialisation
 * requests", which its client does not retry; the reason says when to come back.
 */
export const WS_RATE_LIMITED = 4429;

export function attachGraphqlWs(server: Server, yoga: YogaServerInstance<object, Ctx>, deps: AppDeps) {
  const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: 1024 * 1024 });
  // Registered before graphql-ws' own listener, so its sends go through the batching wrapper.
  wss.on('connection', batchSends);
  const sessions = new WsSessions(deps);
  const disposable = useServer(
    {
      execute: (args) => (args as EnvelopedArgs).rootValue.execute(args) as never,
      subscribe: (args) => (args as EnvelopedArgs).rootValue.subscribe(args) as never,
      onConnect: async (ctx) => {
        const token = bearerToken(wsAuthorization(ctx.connectionParams));
        let signedIn: { verified: ReturnType<typeof deps.tokens.verify>; user: Awaited<ReturnType<typeof userForToken>> } | undefined;
        if (token) {
          try {
            const verified = deps.tokens.verify(token, 'access');
            signedIn = { verified, user: await userForToken(deps.authCache, verified) };
          } catch {
            signedIn = undefined;
          }
        }
        // The handshake is a request too (an upgrade never reaches the HTTP middleware): it spends a
        // point of the client IP's budget, and of the user's once known, signed in or not.
        try {
          await deps.limiters.api.consume(clientIpOf(ctx.extra.request, deps.config.trustProxy) ?? 'unknown', signedIn?.user.id);
        } catch (err) {
          if (!(err instanceof RateLimitError)) throw err;
          ctx.extra.socket.close(WS_RATE_LIMITED, `Too many requests: retry after ${err.retryAfterSeconds} s`);
          return false;
        }
        if (!signedIn) return false;
        sessions.add(ctx.extra.socket, signedIn.verified, signedIn.user.role);
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        const contextValue = await contextFactory();
        // Every operation over the socket spends the same budget as an HTTP request would.
        try {
          await deps.limiters.api.consume(clientIpOf(ctx.extra.request, deps.config.trustProxy) ?? 'unknown', contextValue.user?.id);
        } catch (err) {
          if (!(err instanceof RateLimitError)) throw err;
          return [new GraphQLError(err.message, { extensions: { code: err.code, type: err.type, status: err.status, details: err.details } })];
        }
        let document;
        try {
          document = parse(payload.query); // the token limit rejects from the parser
        } catch (err) {
          if (err instanceof GraphQLError) return [err];
          throw err;
        }
        const args = {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
        let errors: readonly GraphQLError[];
        try {
          errors = validate(args.schema, args.document);
        } catch (err) {
          // Abuse-limit plugins (depth, cost, aliases, directives) reject by throwing from validation.
          if (err instanceof GraphQLError) return [err];
          throw err;
        }
        if (errors.length) return [...errors];
        return args;
      },
    },
    wss,
  );
  return {
    connections: () => wss.clients.size,
    close: async () => {
      sessions.close();
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
