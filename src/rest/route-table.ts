/**
 * The REST route table. Every route is declared once, with what the OpenAPI document needs (method,
 * paths, summary, module tag, operation or handler, where the input comes from, REST-only query
 * schema, success status and response kind); the same declaration registers the Express handler and
 * feeds the document (openapi.ts). So the document cannot list a route the app doesn't serve, nor
 * miss one, and it describes exactly the schemas the handlers validate with.
 */
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { AnyZodObject, ZodTypeAny, output } from 'zod';
import type { AppDeps } from '../deps.js';
import type { Ctx } from '../context.js';
import type { Requirement } from '../auth/permissions.js';
import { execute, type Operation } from '../resolvers/operation.js';
import { parseInput } from '../lib/validation.js';
import { bodyInput, queryInput, restContext } from './handler.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'delete';

/** What a successful answer looks like, for the document. */
export type ResponseKind =
  | 'envelope' // {status, success, data, message}
  | 'page' // {status, success, data: [...], pagination, message}
  | 'csv' // a CSV download
  | 'csv-or-json' // a CSV or JSON download (format=…)
  | 'text' // a plain-text download
  | 'text-or-csv' // a plain-text or CSV download (format=…)
  | 'csv-or-envelope' // an envelope, or a CSV download with format=csv
  | 'openapi' // the OpenAPI document itself
  | 'html'
  | 'javascript'
  | 'prometheus';

interface RouteDoc {
  summary: string;
  description?: string;
  /** OpenAPI operationId of the first path (aliases get a suffix); defaults to the operation's name. Unique. */
  id?: string;
  /** Success status (200 unless said otherwise). */
  status?: 200 | 201 | 202;
  response?: ResponseKind;
  /** Error statuses this route answers besides the ones its input and permission imply (409, 422, 429…). */
  errors?: readonly number[];
  /** A request body example in REST spelling; must satisfy the operation's schema (checked when the document is built). */
  example?: Record<string, unknown>;
}

export type Presenter<O, Q = undefined> = (res: Response, result: O, ctx: Ctx, req: Request, query: Q) => void | Promise<void>;

/** A route served by an operation: the handler maps HTTP to its input, runs execute(), presents the result. */
export interface OperationRoute<S extends ZodTypeAny, O, Q extends AnyZodObject | undefined = undefined> extends RouteDoc {
  op: Operation<S, O>;
  /** Where the operation's input comes from besides path parameters: the query string or the body. */
  from?: 'query' | 'body';
  /** Path parameter → input field, where they differ (`:id` → `accountId`). Others keep their name. */
  params?: Record<string, string>;
  /** Input fields the route sets itself (not client input). */
  fixed?: Record<string, unknown>;
  /** Replaces the `from` mapping where REST accepts aliases; the document still describes `from`. */
  toInput?: (req: Request) => Record<string, unknown>;
  /** Also accepts a text/csv body (documented next to the JSON one). */
  csvBody?: boolean;
  /** Also documented as a form body (every body route parses forms; login is the one clients use). */
  formBody?: boolean;
  /** REST-only query parameters (not part of the operation), validated before it runs, given to `present`. */
  restQuery?: Q;
  /** Route-level middleware run before the handler (body parsers). */
  before?: RequestHandler[];
  present: Presenter<O, Q extends AnyZodObject ? output<Q> : undefined>;
}

/** A route with its own handler (health, metrics, the document itself): no operation input. */
export interface HandlerRoute extends RouteDoc {
  id: string;
  requires: Requirement;
  /** The route may be protected by METRICS_TOKEN instead of a user token. */
  metricsToken?: boolean;
  handler: RequestHandler;
}

/** One declared route, as the document builder sees it. */
export interface RegisteredRoute extends RouteDoc {
  method: HttpMethod;
  paths: string[];
  tag: string;
  requires: Requirement;
  op?: Operation<ZodTypeAny, unknown>;
  from?: 'query' | 'body';
  params?: Record<string, string>;
  fixed?: Record<string, unknown>;
  csvBody?: boolean;
  formBody?: boolean;
  restQuery?: AnyZodObject;
  metricsToken?: boolean;
}

export interface RouteModule {
  deps: AppDeps;
  get<S extends ZodTypeAny, O, Q extends AnyZodObject | undefined = undefined>(paths: string | string[], spec: OperationRoute<S, O, Q> | HandlerRoute): void;
  post<S extends ZodTypeAny, O, Q extends AnyZodObject | undefined = undefined>(paths: string | string[], spec: OperationRoute<S, O, Q> | HandlerRoute): void;
  put<S extends ZodTypeAny, O, Q extends AnyZodObject | undefined = undefined>(paths: string | string[], spec: OperationRoute<S, O, Q> | HandlerRoute): void;
  delete<S extends ZodTypeAny, O, Q extends AnyZodObject | undefined = undefined>(paths: string | string[], spec: OperationRoute<S, O, Q> | HandlerRoute): void;
}

export interface TagInfo {
  name: string;
  description: string;
}

const isOperationRoute = (spec: OperationRoute<ZodTypeAny, unknown, AnyZodObject | undefined> | HandlerRoute): spec is OperationRoute<ZodTypeAny, unknown, AnyZodObject | undefined> =>
  'op' in spec;

/** The operation's input for one request: query or body, then path parameters, then fixed fields. */
function inputOf(spec: OperationRoute<ZodTypeAny, unknown, AnyZodObject | undefined>, req: Request): Record<string, unknown> {
  const input = spec.toInput ? spec.toInput(req) : spec.from === 'query' ? queryInput(req) : spec.from === 'body' ? bodyInput(req) : {};
  for (const [name, value] of Object.entries(req.params ?? {})) input[spec.params?.[name] ?? name] = value;
  return { ...input, ...spec.fixed };
}

function operationHandler(deps: AppDeps, spec: OperationRoute<ZodTypeAny, unknown, AnyZodObject | undefined>): RequestHandler {
  return async (req, res) => {
    const ctx = await restContext(deps, req);
    // REST-only parameters are checked first: a bad one must not leave a started sync behind.
    const query = spec.restQuery ? parseInput(spec.restQuery, queryInput(req)) : undefined;
    const result = await execute(spec.op, ctx, inputOf(spec, req));
    await spec.present(res, result, ctx, req, query as never);
  };
}

export class RouteTable {
  readonly router = Router();
  readonly routes: RegisteredRoute[] = [];
  readonly tags: TagInfo[] = [];

  constructor(readonly deps: AppDeps) {}

  /** The registrar of one module; its routes carry the module's tag in the document. */
  module(tag: string, description: string): RouteModule {
    this.tags.push({ name: tag, description });
    const add =
      (method: HttpMethod) =>
      (paths: string | string[], spec: OperationRoute<ZodTypeAny, unknown, AnyZodObject | undefined> | HandlerRoute): void => {
        const list = Array.isArray(paths) ? paths : [paths];
        if (isOperationRoute(spec)) {
          const { op, present: _p, toInput: _t, before = [], ...doc } = spec;
          this.routes.push({ ...doc, method, paths: list, tag, requires: op.requires, op: op as Operation<ZodTypeAny, unknown> });
          this.router[method](list, ...before, operationHandler(this.deps, spec));
        } else {
          const { handler, ...doc } = spec;
          this.routes.push({ ...doc, method, paths: list, tag });
          this.router[method](list, handler);
        }
      };
    return { deps: this.deps, get: add('get'), post: add('post'), put: add('put'), delete: add('delete') } as RouteModule;
  }
}
