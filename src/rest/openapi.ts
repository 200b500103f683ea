/**
 * The OpenAPI 3.1 document of the REST API, built from the route table (route-table.ts): each
 * declared route becomes one operation per path, its parameters and body derived from the zod
 * schema its operation validates with (field names in REST's snake_case), its security from the
 * operation's permission, its responses from the documented envelopes (envelope.ts).
 */
import { OpenAPIRegistry, OpenApiGeneratorV31, extendZodWithOpenApi, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z, type AnyZodObject, type ZodTypeAny } from 'zod';
import type { RegisteredRoute, ResponseKind, TagInfo } from './route-table.js';
import { errorEnvelopeSchema, pageEnvelopeSchema, successEnvelopeSchema } from './envelope.js';
import { camelizeKeys } from './handler.js';

// Adds .openapi() to zod (needed to register named component schemas); idempotent.
extendZodWithOpenApi(z);

type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Express `:name` segments → OpenAPI `{name}`; anything fancier would need a real translation. */
export function openApiPath(expressPath: string): string {
  if (/[*?(){}]/.test(expressPath)) throw new Error(`route path not expressible in OpenAPI: ${expressPath}`);
  return expressPath.replace(/:(\w+)/g, '{$1}');
}

const pathParamNames = (expressPath: string) => [...expressPath.matchAll(/:(\w+)/g)].map((m) => m[1]!);

/** The object schema under preprocess/refine/transform wrappers: operation inputs are objects. */
function objectOf(schema: ZodTypeAny, what: string): AnyZodObject {
  let s: ZodTypeAny = schema;
  for (;;) {
    const def = s._def as { typeName: string; schema?: ZodTypeAny; in?: ZodTypeAny };
    if (def.typeName === 'ZodObject') return s as AnyZodObject;
    if (def.typeName === 'ZodEffects' && def.schema) s = def.schema;
    else if (def.typeName === 'ZodPipeline' && def.in) s = def.in;
    else throw new Error(`${what}: input schema is not an object (${def.typeName})`);
  }
}

/** The fields of `obj` except `omit`, under their REST names; strict objects stay strict. */
function restObject(obj: AnyZodObject, omit: ReadonlySet<string>): AnyZodObject {
  const shape = Object.fromEntries(Object.entries(obj.shape as Record<string, ZodTypeAny>).filter(([k]) => !omit.has(k)).map(([k, v]) => [snake(k), v]));
  const out = z.object(shape);
  return obj._def.unknownKeys === 'strict' ? out.strict() : out;
}

/** Path parameters are always present: document the field without its optional/nullable wrappers. */
function pathField(field: ZodTypeAny): ZodTypeAny {
  let s = field;
  while (s.isOptional() || s.isNullable()) {
    const def = s._def as { typeName: string; schema?: ZodTypeAny; innerType?: ZodTypeAny };
    if (def.typeName === 'ZodEffects' && def.schema) s = def.schema;
    else if ((def.typeName === 'ZodOptional' || def.typeName === 'ZodNullable' || def.typeName === 'ZodDefault') && def.innerType) s = def.innerType;
    else break;
  }
  return s;
}

/** A documented example must be valid input: parsed like a request (path parameters as 1, which an id accepts). */
function checkExample(route: RegisteredRoute, input: AnyZodObject, id: string): void {
  const params = Object.fromEntries(pathParamNames(route.paths[0]!).map((n) => [route.params?.[n] ?? n, '1']));
  const res = input.safeParse({ ...camelizeKeys(route.example), ...params, ...route.fixed });
  if (!res.success) throw new Error(`${id}: the documented example is not valid input: ${res.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
}

const isEmpty = (o: AnyZodObject | undefined) => !o || Object.keys(o.shape).length === 0;

/** Error responses shared by all operations (components.responses), by status. */
const ERROR_RESPONSES: Record<string, { name: string; description: string }> = {
  '400': { name: 'BadRequest', description: 'ValidationError: 参数无效 (details.errors 列出 {field, message})、JSON 格式错误' },
  '401': { name: 'Unauthorized', description: 'AuthenticationError: 未登录、令牌无效/过期/已撤销' },
  '403': { name: 'Forbidden', description: 'AuthorizationError: 权限不足' },
  '404': { name: 'NotFound', description: 'ResourceNotFoundError: 资源不存在' },
  '409': { name: 'Conflict', description: 'ConflictError: 与现有数据冲突 (重名、仍被使用、状态不允许)' },
  '413': { name: 'PayloadTooLarge', description: 'ValidationError: 请求体过大' },
  '422': { name: 'UnprocessableEntity', description: 'ValidationError: 违反业务规则' },
  '429': { name: 'TooManyRequests', description: 'RateLimitError: 请求过于频繁 (Retry-After)' },
  '503': { name: 'ServiceUnavailable', description: 'DatabaseError / ServiceUnavailableError: 依赖不可用' },
  default: { name: 'ServerError', description: 'DatabaseError / ExternalServiceError / InternalServerError (5xx)，不含堆栈' },
};

function successContent(kind: ResponseKind): NonNullable<RouteConfig['responses'][string]> {
  const ref = (name: string) => ({ schema: { $ref: `#/components/schemas/${name}` } });
  switch (kind) {
    case 'envelope':
      return { description: '成功', content: { 'application/json': ref('SuccessEnvelope') } };
    case 'page':
      return { description: '成功 (分页)', content: { 'application/json': ref('PageEnvelope') } };
    case 'csv':
      return { description: 'CSV 文件', content: { 'text/csv': { schema: { type: 'string' } } } };
    case 'csv-or-json':
      return { description: 'CSV 或 JSON 文件 (format)', content: { 'text/csv': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'array', items: { type: 'object' } } } } };
    case 'text':
      return { description: '文本文件', content: { 'text/plain': { schema: { type: 'string' } } } };
    case 'text-or-csv':
      return { description: '文本或 CSV 文件 (format)', content: { 'text/plain': { schema: { type: 'string' } }, 'text/csv': { schema: { type: 'string' } } } };
    case 'csv-or-envelope':
      return { description: '成功 (format=csv 时为 CSV 文件)', content: { 'application/json': ref('SuccessEnvelope'), 'text/csv': { schema: { type: 'string' } } } };
    case 'openapi':
      return { description: 'OpenAPI 3.1 文档', content: { 'application/json': { schema: { type: 'object' } } } };
    case 'html':
      return { description: 'HTML 页面', content: { 'text/html': { schema: { type: 'string' } } } };
    case 'javascript':
      return { description: '脚本', content: { 'text/javascript': { schema: { type: 'string' } } } };
    case 'prometheus':
      return { description: 'Prometheus 文本格式', content: { 'text/plain': { schema: { type: 'string' } } } };
  }
}

/** The operations of one declared route: one per path, the first under its id, aliases suffixed. */
function routeConfigs(route: RegisteredRoute): RouteConfig[] {
  const id = route.id ?? route.op?.name;
  if (!id) throw new Error(`${route.method.toUpperCase()} ${route.paths[0]}: route needs an id`);
  const input = route.op ? objectOf(route.op.input, id) : undefined;
  const fixed = new Set(Object.keys(route.fixed ?? {}));
  const primary = `${route.method.toUpperCase()} ${openApiPath(route.paths[0]!)}`;
  if (route.example && input) checkExample(route, input, id);

  return route.paths.map((path, i) => {
    const names = pathParamNames(path);
    const paramFields = names.map((n) => route.params?.[n] ?? n);
    let params: AnyZodObject | undefined;
    if (names.length) {
      if (!input) throw new Error(`${id}: path parameters need an operation input`);
      params = z.object(
        Object.fromEntries(
          names.map((n, j) => {
            const field = input.shape[paramFields[j]!] as ZodTypeAny | undefined;
            if (!field) throw new Error(`${id}: path parameter :${n} maps to no input field (${paramFields[j]})`);
            return [n, pathField(field)];
          }),
        ),
      );
    }
    const taken = new Set([...paramFields, ...fixed]);
    const fromClient = input && route.from ? restObject(input, taken) : undefined;
    let query = route.from === 'query' ? fromClient : undefined;
    if (route.restQuery) query = query ? query.merge(route.restQuery) : route.restQuery;
    const body = route.from === 'body' ? fromClient : undefined;

    const errors = new Set<string>(['default', ...(route.errors ?? []).map(String)]);
    // Every route parses a JSON body when one is sent (router-level parser): malformed → 400, too big → 413.
    errors.add('400');
    if (route.method !== 'get') errors.add('413');
    if (!isEmpty(params)) errors.add('404');
    if (route.requires !== 'public') errors.add('401');
    if (route.requires !== 'public' && route.requires !== 'authenticated') errors.add('403');

    const bodyContent: Record<string, { schema: ZodTypeAny; example?: unknown }> = {};
    if (body) {
      bodyContent['application/json'] = route.example ? { schema: body, example: route.example } : { schema: body };
      if (route.formBody) bodyContent['application/x-www-form-urlencoded'] = { schema: body };
      if (route.csvBody) bodyContent['text/csv'] = { schema: z.string().describe('CSV: 首行为列名') };
    }
    const required = body ? Object.values(body.shape as Record<string, ZodTypeAny>).some((f) => !f.isOptional()) : false;

    return {
      method: route.method,
      path: openApiPath(path),
      operationId: i === 0 ? id : `${id}_alias${i}`,
      tags: [route.tag],
      summary: route.summary,
      description: [route.description, i > 0 ? `与 \`${primary}\` 相同 (兼容路径)。` : undefined, `权限: \`${route.requires}\``].filter(Boolean).join('\n\n'),
      security: route.requires === 'public' ? (route.metricsToken ? [{}, { metricsToken: [] }] : []) : [{ bearerAuth: [] }],
      'x-permission': route.requires,
      request: {
        params: isEmpty(params) ? undefined : params,
        query: isEmpty(query) ? undefined : query,
        body: body ? { required, content: bodyContent } : undefined,
      },
      responses: {
        [String(route.status ?? 200)]: successContent(route.response ?? 'envelope'),
        ...Object.fromEntries([...errors].sort().map((code) => [code, { $ref: `#/components/responses/${ERROR_RESPONSES[code]?.name ?? 'ServerError'}` }])),
      },
    } as RouteConfig;
  });
}

export interface DocumentInfo {
  version: string;
}

export function buildOpenApiDocument(routes: readonly RegisteredRoute[], tags: readonly TagInfo[], info: DocumentInfo): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registry.register('SuccessEnvelope', successEnvelopeSchema);
  registry.register('PageEnvelope', pageEnvelopeSchema);
  registry.register('ErrorEnvelope', errorEnvelopeSchema);
  for (const { name, description } of Object.values(ERROR_RESPONSES)) {
    registry.registerComponent('responses', name, { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } } });
  }
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'POST /auth/login 返回的 access_token (刷新接口使用 refresh_token)',
  });
  registry.registerComponent('securitySchemes', 'metricsToken', { type: 'http', scheme: 'bearer', description: '设置 METRICS_TOKEN 时 /metrics 需要它' });

  const ids = new Set<string>();
  const operations = new Set<string>();
  for (const route of routes) {
    for (const config of routeConfigs(route)) {
      const key = `${config.method} ${config.path}`;
      if (ids.has(config.operationId!)) throw new Error(`duplicate operationId ${config.operationId} (${key})`);
      if (operations.has(key)) throw new Error(`route declared twice: ${key}`);
      ids.add(config.operationId!);
      operations.add(key);
      registry.registerPath(config);
    }
  }

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: '鲸落 (WhaleFall) REST API',
      version: info.version,
      description:
        '数据库实例、账户同步、分类、任务调度与统一日志的 REST 接口。成功: `{status, success, data, message}`；' +
        '分页: 另有 `pagination`；错误: `{status: "error", success: false, error, message, code, details}`。' +
        '字段名为 snake_case；同一操作也以 GraphQL 提供 (/graphql)。请求头或 URL 过长时任何路径都返回 431 (错误信封)。',
    },
    servers: [{ url: '/' }],
    tags: tags.map((t) => ({ name: t.name, description: t.description })),
  });
}
