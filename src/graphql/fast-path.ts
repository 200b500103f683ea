/**
 * A direct HTTP path for the common GraphQL request — POST, JSON in, JSON out, query or mutation —
 * that runs yoga's own envelop pipeline (same schema, plugins, caches, error masking, limits, context)
 * without yoga's Fetch-API request/response translation, which cost as much CPU as executing the
 * query (bench/http). Everything else (GET, GraphiQL, SSE, multipart, subscriptions) is left to
 * yoga, and this path answers as yoga does for the cases it takes, batches and limits included.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionResult } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { readBody, tooLarge } from '../http/guard.js';

export interface FastPathLimits {
  /** Largest request body in bytes (HTTP_BODY_LIMIT_BYTES). */
  bodyLimit: number;
  /** Operations per batched request; 0 = batches refused (GRAPHQL_BATCH_LIMIT). */
  batchLimit: number;
}

/** Whether this request is one the fast path serves; otherwise yoga gets it untouched. */
export function fastPathApplies(req: IncomingMessage): boolean {
  if (req.method !== 'POST') return false;
  const ct = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(ct)) return false;
  const accept = req.headers.accept ?? '';
  // Streaming or the newer graphql-response media type: let yoga negotiate.
  return !/text\/event-stream|multipart\/mixed|application\/graphql-response\+json/i.test(accept);
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

function send(res: ServerResponse, { status, body, headers = {} }: Reply): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const requestError = (status: number, message: string, code = 'BAD_REQUEST'): Reply => ({
  status,
  body: { errors: [{ message, extensions: { code, status } }] },
});

/** Moves `extensions.http` (status, headers) set by domain errors onto the HTTP response, as yoga does. */
function httpFromErrors(result: ExecutionResult): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const e of result.errors ?? []) {
    const http = (e.extensions as { http?: { status?: number; headers?: Record<string, string> } } | undefined)?.http;
    if (!http) continue;
    if (http.status && http.status > status) status = http.status;
    Object.assign(headers, http.headers ?? {});
    delete (e.extensions as Record<string, unknown>).http;
  }
  return { status, headers };
}

export async function serveFast(
  yoga: YogaServerInstance<any, any>, // eslint-disable-line @typescript-eslint/no-explicit-any
  req: IncomingMessage,
  res: ServerResponse,
  limits: FastPathLimits,
  /** yoga's error masking, for failures before execution (the context: the caller's user is read from the database). */
  maskError: (err: unknown) => GraphQLError,
): Promise<void> {
  const raw = await readBody(req, limits.bodyLimit);
  if (raw === undefined) {
    const err = tooLarge(limits.bodyLimit);
    return send(res, { status: 413, body: { errors: [{ message: err.message, extensions: { code: err.code, type: err.type, status: 413, details: err.details } }] } });
  }
  let params: unknown;
  try {
    params = JSON.parse(raw.toString('utf8'));
  } catch {
    return send(res, requestError(400, 'POST body sent invalid JSON.'));
  }
  if (Array.isArray(params)) {
    // Batches: refused unless enabled, and bounded (each operation still meets every other limit).
    if (limits.batchLimit === 0) return send(res, requestError(400, 'Batching is not supported.'));
    if (params.length === 0) return send(res, requestError(400, 'Must provide query string.'));
    if (params.length > limits.batchLimit) return send(res, requestError(413, `Batching is limited to ${limits.batchLimit} operations per request.`));
    const replies = await Promise.all(params.map((p) => runOne(yoga, req, p, maskError)));
    const headers = Object.assign({}, ...replies.map((r) => r.headers ?? {}));
    return send(res, { status: 200, body: replies.map((r) => r.body), headers });
  }
  send(res, await runOne(yoga, req, params, maskError));
}

async function runOne(
  yoga: YogaServerInstance<any, any>, // eslint-disable-line @typescript-eslint/no-explicit-any
  req: IncomingMessage,
  input: unknown,
  maskError: (err: unknown) => GraphQLError,
): Promise<Reply> {
  const params = input as { query?: unknown; variables?: unknown; operationName?: unknown } | null;
  if (!params || typeof params !== 'object' || Array.isArray(params) || typeof params.query !== 'string') {
    return requestError(400, 'Must provide query string.');
  }
  const variables = params.variables ?? undefined;
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) {
    return requestError(400, 'Invalid variables: must be an object.');
  }
  const operationName = typeof params.operationName === 'string' ? params.operationName : undefined;
  // Yoga's context reads headers through a Fetch-style `request`; a minimal view is enough.
  const request = {
    method: 'POST',
    headers: { get: (name: string) => (req.headers[name.toLowerCase()] as string | undefined) ?? null },
  };
  const { parse, validate, contextFactory, execute, schema } = yoga.getEnveloped({ req, request, params });
  let document: DocumentNode;
  try {
    // The token limit rejects from the parser.
    document = parse(params.query);
  } catch (err) {
    return { status: 400, body: { errors: [err instanceof GraphQLError ? err : { message: (err as Error).message }] } };
  }
  let validationErrors: readonly GraphQLError[];
  try {
    validationErrors = validate(schema, document);
  } catch (err) {
    // Abuse-limit plugins (depth, cost, aliases, directives) reject by throwing from validation.
    if (err instanceof GraphQLError) return { status: 400, body: { errors: [err] } };
    throw err;
  }
  if (validationErrors.length) return { status: 400, body: { errors: validationErrors } };
  const op = getOperationAST(document, operationName);
  if (!op) return requestError(400, 'Could not determine what operation to execute.');
  if (op.operation === 'subscription') {
    return requestError(400, 'Subscriptions are served over graphql-ws (or SSE with Accept: text/event-stream).');
  }
  let contextValue: unknown;
  try {
    contextValue = await contextFactory();
  } catch (err) {
    const result: ExecutionResult = { errors: [maskError(err)] };
    const { status, headers } = httpFromErrors(result);
    return { status: status === 200 ? 500 : status, body: result, headers };
  }
  const result = (await execute({ schema, document, variableValues: variables as Record<string, unknown> | undefined, operationName, contextValue })) as ExecutionResult;
  const { status, headers } = httpFromErrors(result);
  return { status, body: result, headers };
}
