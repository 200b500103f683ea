/**
 * A direct HTTP path for the common GraphQL request — POST, JSON in, JSON out, query or mutation —
 * that runs yoga's own envelop pipeline (same schema, plugins, caches, error masking, limits, context)
 * without yoga's Fetch-API request/response translation, which cost as much CPU as executing the
 * query (bench/http). Everything else (GET, GraphiQL, SSE, multipart, batches, subscriptions) is
 * left to yoga, and this path answers exactly as yoga does for the cases it takes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionResult } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';

const MAX_BODY_BYTES = 1024 * 1024;

/** Whether this request is one the fast path serves; otherwise yoga gets it untouched. */
export function fastPathApplies(req: IncomingMessage): boolean {
  if (req.method !== 'POST') return false;
  const ct = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(ct)) return false;
  const accept = req.headers.accept ?? '';
  // Streaming or the newer graphql-response media type: let yoga negotiate.
  return !/text\/event-stream|multipart\/mixed|application\/graphql-response\+json/i.test(accept);
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

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
  /** yoga's error masking, for failures before execution (the context: the caller's user is read from the database). */
  maskError: (err: unknown) => GraphQLError,
): Promise<void> {
  const raw = await readBody(req);
  if (raw === undefined) return send(res, 413, { errors: [{ message: 'Request body too large' }] });
  let params: { query?: unknown; variables?: unknown; operationName?: unknown };
  try {
    params = JSON.parse(raw);
  } catch {
    return send(res, 400, { errors: [{ message: 'POST body sent invalid JSON.' }] });
  }
  if (!params || typeof params !== 'object' || Array.isArray(params) || typeof params.query !== 'string') {
    return send(res, 400, { errors: [{ message: 'Must provide query string.' }] });
  }
  const variables = params.variables ?? undefined;
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) {
    return send(res, 400, { errors: [{ message: 'Invalid variables: must be an object.' }] });
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
    document = parse(params.query);
  } catch (err) {
    return send(res, 400, { errors: [err instanceof GraphQLError ? err : { message: (err as Error).message }] });
  }
  let validationErrors: readonly GraphQLError[];
  try {
    validationErrors = validate(schema, document);
  } catch (err) {
    // Abuse-limit plugins (depth, cost, aliases) reject by throwing from validation.
    if (err instanceof GraphQLError) return send(res, 400, { errors: [err] });
    throw err;
  }
  if (validationErrors.length) return send(res, 400, { errors: validationErrors });
  const op = getOperationAST(document, operationName);
  if (!op) return send(res, 400, { errors: [{ message: 'Could not determine what operation to execute.' }] });
  if (op.operation === 'subscription') {
    return send(res, 400, { errors: [{ message: 'Subscriptions are served over graphql-ws (or SSE with Accept: text/event-stream).' }] });
  }
  let contextValue: unknown;
  try {
    contextValue = await contextFactory();
  } catch (err) {
    const result: ExecutionResult = { errors: [maskError(err)] };
    const { status, headers } = httpFromErrors(result);
    return send(res, status === 200 ? 500 : status, result, headers);
  }
  const result = (await execute({ schema, document, variableValues: variables as Record<string, unknown> | undefined, operationName, contextValue })) as ExecutionResult;
  const { status, headers } = httpFromErrors(result);
  send(res, status, result, headers);
}
