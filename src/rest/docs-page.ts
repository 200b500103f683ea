/**
 * The local API docs page (/api/docs): a small self-contained page that renders /api/openapi.json
 * and can send requests with a token. No CDN and no inline script (works offline and under a
 * `script-src 'self'` content security policy). Everything from the document is inserted as text.
 */

export const DOCS_HTML = `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>鲸落 REST API</title>
<style>
  body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 0; color: #1f2933; background: #f5f7fa; }
  header { position: sticky; top: 0; z-index: 1; display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 10px 20px; background: #102a43; color: #fff; }
  header h1 { font-size: 18px; margin: 0; }
  header a { color: #9fb3c8; }
  header input { padding: 4px 8px; border-radius: 4px; border: 1px solid #486581; min-width: 240px; }
  main { max-width: 1100px; margin: 0 auto; padding: 12px 20px 60px; }
  h2 { margin: 28px 0 4px; font-size: 17px; }
  .tagdesc { color: #627d98; margin: 0 0 8px; }
  details.op { background: #fff; border: 1px solid #d9e2ec; border-radius: 6px; margin: 6px 0; }
  details.op > summary { cursor: pointer; padding: 6px 10px; display: flex; gap: 10px; align-items: baseline; list-style: none; }
  details.op > summary::-webkit-details-marker { display: none; }
  .m { display: inline-block; min-width: 56px; text-align: center; font-weight: 600; font-size: 12px; color: #fff; border-radius: 3px; padding: 1px 4px; }
  .get { background: #2680c2; } .post { background: #199473; } .put { background: #cb6e17; } .delete { background: #ba2525; }
  .path { font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
  .sum { color: #486581; flex: 1; }
  .perm { font-size: 12px; color: #829ab1; white-space: nowrap; }
  .body { padding: 4px 14px 12px; border-top: 1px solid #e4e7eb; }
  .desc { white-space: pre-wrap; color: #334e68; }
  table { border-collapse: collapse; width: 100%; margin: 6px 0; }
  th, td { text-align: left; border-bottom: 1px solid #e4e7eb; padding: 3px 6px; vertical-align: top; }
  th { font-weight: 600; color: #486581; }
  code, pre, textarea, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
  pre { background: #f0f4f8; padding: 8px; overflow: auto; max-height: 360px; margin: 4px 0; }
  ul.schema { margin: 2px 0; padding-left: 18px; }
  .req { color: #ba2525; }
  .try input[type=text] { width: 260px; }
  .try textarea { width: 100%; min-height: 90px; }
  button { padding: 4px 12px; cursor: pointer; }
  .status { font-weight: 600; }
  .hidden { display: none; }
</style>
</head>
<body>
<header>
  <h1>鲸落 REST API</h1>
  <span id="version"></span>
  <input id="filter" type="search" placeholder="过滤: 路径、摘要、标签">
  <input id="token" type="password" placeholder="access_token (试一试时使用)" autocomplete="off">
  <a href="/api/openapi.json">openapi.json</a>
</header>
<main id="ops">加载中…</main>
<script src="/api/docs/docs.js"></script>
</body>
</html>
`;

export const DOCS_JS = `'use strict';
(function () {
  var main = document.getElementById('ops');
  var tokenInput = document.getElementById('token');
  tokenInput.value = sessionStorage.getItem('wf-docs-token') || '';
  tokenInput.addEventListener('change', function () { sessionStorage.setItem('wf-docs-token', tokenInput.value.trim()); });

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'className') e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c != null) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }

  var doc;
  function deref(s) {
    while (s && s.$ref) s = s.$ref.split('/').slice(1).reduce(function (o, k) { return o && o[k]; }, doc);
    return s || {};
  }

  /** One line per schema: type, bounds, enum, default. */
  function brief(s) {
    s = deref(s);
    if (s.anyOf || s.oneOf) return (s.anyOf || s.oneOf).map(brief).join(' | ');
    var t = Array.isArray(s.type) ? s.type.join('|') : (s.type || (s.properties ? 'object' : 'any'));
    if (s.const !== undefined) t = JSON.stringify(s.const);
    if (s.enum) t = s.enum.map(function (v) { return JSON.stringify(v); }).join(' | ');
    if (t === 'array') t = 'array<' + brief(s.items || {}) + '>';
    var b = [];
    if (s.format) b.push(s.format);
    if (s.minimum !== undefined) b.push('≥' + s.minimum);
    if (s.exclusiveMinimum !== undefined) b.push('>' + s.exclusiveMinimum);
    if (s.maximum !== undefined) b.push('≤' + s.maximum);
    if (s.minLength !== undefined) b.push('长度≥' + s.minLength);
    if (s.maxLength !== undefined) b.push('长度≤' + s.maxLength);
    if (s.maxItems !== undefined) b.push('最多 ' + s.maxItems + ' 项');
    if (s.pattern) b.push('/' + s.pattern + '/');
    var out = t + (b.length ? ' (' + b.join(', ') + ')' : '');
    if (s.default !== undefined) out += ' = ' + JSON.stringify(s.default);
    return out;
  }

  function schemaTree(s, depth) {
    s = deref(s);
    if (!s.properties || depth > 3) return el('code', { text: brief(s) });
    var req = s.required || [];
    var ul = el('ul', { className: 'schema' });
    Object.keys(s.properties).forEach(function (k) {
      var p = deref(s.properties[k]);
      ul.appendChild(el('li', null, [
        el('code', { text: k }), req.indexOf(k) >= 0 ? el('span', { className: 'req', text: ' *' }) : null, ' ',
        p.properties ? schemaTree(p, depth + 1) : el('span', { className: 'mono', text: brief(p) }),
        p.description ? el('span', { className: 'perm', text: ' ' + p.description }) : null,
      ]));
    });
    if (s.additionalProperties === false) ul.appendChild(el('li', { className: 'perm', text: '(不接受其他字段)' }));
    return ul;
  }

  function sample(s, depth) {
    s = deref(s);
    if (depth > 4) return null;
    if (s.default !== undefined) return s.default;
    if (s.enum) return s.enum[0];
    if (s.anyOf) return sample(s.anyOf[0], depth + 1);
    if (s.properties) {
      var o = {};
      (s.required || []).forEach(function (k) { o[k] = sample(s.properties[k], depth + 1); });
      return o;
    }
    var t = Array.isArray(s.type) ? s.type[0] : s.type;
    return t === 'integer' || t === 'number' ? 1 : t === 'boolean' ? true : t === 'array' ? [] : t === 'object' ? {} : '';
  }

  function tryIt(method, path, op) {
    var box = el('div', { className: 'try' });
    var params = (op.parameters || []).map(function (p) {
      var input = el('input', { type: 'text', placeholder: brief(p.schema || {}) });
      box.appendChild(el('div', null, [el('code', { text: p.in + ' ' + p.name + (p.required ? ' *' : '') + ' ' }), input]));
      return { p: p, input: input };
    });
    var json = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
    var body = null;
    if (json) {
      body = el('textarea', { spellcheck: 'false' });
      body.value = JSON.stringify(json.example !== undefined ? json.example : sample(json.schema, 0), null, 2);
      box.appendChild(body);
    }
    var out = el('pre', { className: 'hidden' });
    var btn = el('button', { type: 'button', text: '发送请求' });
    btn.addEventListener('click', function () {
      var url = path, query = [];
      params.forEach(function (x) {
        var v = x.input.value;
        if (x.p.in === 'path') url = url.replace('{' + x.p.name + '}', encodeURIComponent(v));
        else if (x.p.in === 'query' && v !== '') query.push(encodeURIComponent(x.p.name) + '=' + encodeURIComponent(v));
      });
      if (query.length) url += '?' + query.join('&');
      var headers = {};
      if (tokenInput.value.trim()) headers.Authorization = 'Bearer ' + tokenInput.value.trim();
      var init = { method: method.toUpperCase(), headers: headers };
      if (body && method !== 'get') { headers['Content-Type'] = 'application/json'; init.body = body.value; }
      out.classList.remove('hidden');
      out.textContent = method.toUpperCase() + ' ' + url + ' …';
      fetch(url, init).then(function (res) {
        return res.text().then(function (text) {
          var shown = text;
          try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
          out.textContent = res.status + ' ' + res.statusText + '\\n\\n' + shown.slice(0, 200000);
        });
      }, function (err) { out.textContent = String(err); });
    });
    box.appendChild(btn);
    box.appendChild(out);
    return box;
  }

  function operation(method, path, op) {
    var details = el('details', { className: 'op' });
    details.dataset.search = [method, path, op.summary || '', (op.tags || []).join(' '), op.operationId || ''].join(' ').toLowerCase();
    details.appendChild(el('summary', null, [
      el('span', { className: 'm ' + method, text: method.toUpperCase() }),
      el('span', { className: 'path', text: path }),
      el('span', { className: 'sum', text: op.summary || '' }),
      el('span', { className: 'perm', text: op['x-permission'] || '' }),
    ]));
    var built = false;
    details.addEventListener('toggle', function () {
      if (built || !details.open) return;
      built = true;
      var body = el('div', { className: 'body' });
      if (op.description) body.appendChild(el('p', { className: 'desc', text: op.description }));
      if (op.parameters && op.parameters.length) {
        var t = el('table', null, [el('tr', null, ['参数', '位置', '类型', '说明'].map(function (h) { return el('th', { text: h }); }))]);
        op.parameters.forEach(function (p) {
          t.appendChild(el('tr', null, [
            el('td', null, [el('code', { text: p.name }), p.required ? el('span', { className: 'req', text: ' *' }) : null]),
            el('td', { text: p.in }),
            el('td', { className: 'mono', text: brief(p.schema || {}) }),
            el('td', { text: p.description || (p.schema && p.schema.description) || '' }),
          ]));
        });
        body.appendChild(t);
      }
      if (op.requestBody) {
        Object.keys(op.requestBody.content || {}).forEach(function (type) {
          body.appendChild(el('div', null, [el('strong', { text: '请求体 ' }), el('code', { text: type })]));
          body.appendChild(schemaTree(op.requestBody.content[type].schema || {}, 0));
        });
      }
      var rt = el('table', null, [el('tr', null, [el('th', { text: '响应' }), el('th', { text: '说明' })])]);
      Object.keys(op.responses || {}).forEach(function (code) {
        var r = deref(op.responses[code]);
        rt.appendChild(el('tr', null, [el('td', { className: 'mono', text: code }), el('td', { text: (r.description || '') + ' ' + Object.keys(r.content || {}).join(', ') })]));
      });
      body.appendChild(rt);
      body.appendChild(el('strong', { text: '试一试' }));
      body.appendChild(tryIt(method, path, op));
      details.appendChild(body);
    });
    return details;
  }

  fetch('/api/openapi.json').then(function (r) { return r.json(); }).then(function (d) {
    doc = d;
    document.getElementById('version').textContent = 'v' + d.info.version + ' · OpenAPI ' + d.openapi;
    main.textContent = '';
    var sections = {};
    (d.tags || []).forEach(function (t) {
      var s = el('section', null, [el('h2', { text: t.name }), el('p', { className: 'tagdesc', text: t.description || '' })]);
      sections[t.name] = s;
      main.appendChild(s);
    });
    Object.keys(d.paths).forEach(function (path) {
      ['get', 'post', 'put', 'delete'].forEach(function (method) {
        var op = d.paths[path][method];
        if (!op) return;
        var tag = (op.tags || ['other'])[0];
        if (!sections[tag]) { sections[tag] = el('section', null, [el('h2', { text: tag })]); main.appendChild(sections[tag]); }
        sections[tag].appendChild(operation(method, path, op));
      });
    });
    document.getElementById('filter').addEventListener('input', function (e) {
      var q = e.target.value.trim().toLowerCase();
      document.querySelectorAll('details.op').forEach(function (x) { x.style.display = !q || x.dataset.search.indexOf(q) >= 0 ? '' : 'none'; });
    });
  }, function (err) { main.textContent = '无法加载 /api/openapi.json: ' + err; });
})();
`;
