/**
 * GET /api/openapi.json (the document, built once from the route table on first request) and the
 * local docs page /api/docs with its script. Public: they describe the API, they expose no data.
 */
import type { RouteModule, RouteTable } from './route-table.js';
import { buildOpenApiDocument } from './openapi.js';
import { DOCS_HTML, DOCS_JS } from './docs-page.js';

/**
 * The docs page's own Content-Security-Policy (the API's default allows nothing): its script from
 * 'self' only (no inline script), its inline <style>, fetches to this origin (the document and the
 * "send request" form).
 */
const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function docsRoutes(api: RouteModule, table: RouteTable): void {
  let doc: string | undefined;
  api.get('/api/openapi.json', {
    summary: '本文档 (OpenAPI 3.1)',
    id: 'openapiDocument',
    requires: 'public',
    response: 'openapi',
    handler: (_req, res) => {
      // Built after every module registered its routes (this one included), then reused.
      doc ??= JSON.stringify(buildOpenApiDocument(table.routes, table.tags, { version: api.deps.config.version }));
      res.type('application/json').send(doc);
    },
  });
  api.get('/api/docs', {
    summary: '接口文档页面 (离线可用)',
    id: 'docsPage',
    requires: 'public',
    response: 'html',
    handler: (_req, res) => {
      res.setHeader('Content-Security-Policy', DOCS_CSP);
      res.type('text/html').send(DOCS_HTML);
    },
  });
  api.get('/api/docs/docs.js', {
    summary: '文档页面的脚本',
    id: 'docsScript',
    requires: 'public',
    response: 'javascript',
    handler: (_req, res) => {
      res.type('text/javascript').send(DOCS_JS);
    },
  });
}
