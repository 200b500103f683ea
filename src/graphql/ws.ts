/**
 * graphql-ws on the HTTP server's /graphql path, executing through yoga's envelope so the same
 * schema, plugins and context apply. A connection must authenticate in its connection params; an
 * anonymous or invalid one is closed with 4403 before any subscription starts.
 */
import type { Server } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { AppDeps } from '../deps.js';
import type { Ctx } from '../context.js';
import { authenticateToken } from '../auth/authenticate.js';
import { bearerToken } from '../auth/tokens.js';
import { wsAuthorization } from './yoga.js';

type EnvelopedArgs = ExecutionArgs & {
  rootValue: { execute: (args: ExecutionArgs) => unknown; subscribe: (args: ExecutionArgs) => unknown };
};

export function attachGraphqlWs(server: Server, yoga: YogaServerInstance<object, Ctx>, deps: AppDeps) {
  const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: 1024 * 1024 });
  const disposable = useServer(
    {
      execute: (args) => (args as EnvelopedArgs).rootValue.execute(args) as never,
      subscribe: (args) => (args as EnvelopedArgs).rootValue.subscribe(args) as never,
      onConnect: async (ctx) => {
        const token = bearerToken(wsAuthorization(ctx.connectionParams));
        if (!token) return false;
        try {
          await authenticateToken(deps.tokens, deps.authCache, token);
          return true;
        } catch {
          return false;
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        const args = {
          schema,
          operationName: payload.operationName,
          document: parse(payload.query),
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wss,
  );
  return {
    close: async () => {
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
