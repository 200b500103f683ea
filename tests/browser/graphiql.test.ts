/**
 * GraphiQL in a real browser: Debian's Chromium (never a downloaded one), driven by playwright-core,
 * against the real gateway. It opens /graphql, sees an anonymous query refused, signs in with the
 * `login` mutation typed into GraphiQL, puts the access token into GraphiQL's headers editor, runs
 * `{ me { username role } }` and reads the answer off the result pane. Every request the page makes
 * must stay on the gateway's origin (GraphiQL's assets and editor workers are served locally).
 * The screenshot lands in tests/artifacts/graphiql.png (gitignored).
 *
 * `.ci/run` installs Debian's chromium when /usr/bin/chromium is missing; this file installs nothing
 * and is skipped, with the reason printed, on a machine without it.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseBodies } from '../helpers/http.js';
import { ADMIN_PASSWORD, startTestApp, type TestApp } from '../helpers/test-app.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../artifacts');
/** Upper bound for any single wait on the page; a wait that runs out fails the test with the page's state. */
const WAIT_MS = 30_000;

// Flags that keep Chromium quiet on a machine without internet (.library/env/machines/node-svc.md):
// without the background-networking ones it keeps trying to reach Google's hosts.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`graphiql browser test: skipped — no Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium; or set CHROMIUM_PATH)`);
}

// Editors are Monaco instances; each one's model URI names its role.
const QUERY_EDITOR = '.graphiql-query-editor .monaco-editor[data-uri$="-operation.graphql"]';
const HEADERS_EDITOR = '.monaco-editor[data-uri$="-request-headers.json"]';
const RESULT_LINES = '.result-window .monaco-editor[data-uri$="-response.json"] .view-lines';
const EXECUTE = 'button.graphiql-execute-button';
const ME = '{ me { username role } }';

/** Replaces the whole content of a Monaco editor with `text`, as pasted (no auto-closed brackets). */
async function setEditor(page: Page, selector: string, text: string) {
  const editor = page.locator(selector);
  await editor.waitFor({ state: 'visible', timeout: WAIT_MS });
  await editor.locator('.view-lines').click();
  await page.keyboard.press('ControlOrMeta+KeyA');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
  // The editor's own text, as Monaco renders it, must now be exactly what was inserted.
  await page.waitForFunction(
    ({ sel, want }) => {
      const el = document.querySelector(`${sel} .view-lines`) as HTMLElement | null;
      return !!el && el.innerText.replace(/\u00a0/g, ' ').replace(/\s+/g, ' ').trim() === want.replace(/\s+/g, ' ').trim();
    },
    { sel: selector, want: text },
    { timeout: WAIT_MS },
  ).catch(async (err: Error) => {
    const shown = (await editor.locator('.view-lines').innerText()).replace(/\u00a0/g, ' ');
    throw new Error(`editor ${selector} shows:\n${shown}\ninstead of:\n${text}\n(${err.message})`);
  });
}

/** The result pane's text (Monaco renders spaces as U+00A0). */
async function resultText(page: Page): Promise<string> {
  const text = await page.locator(RESULT_LINES).innerText();
  return text.replace(/\u00a0/g, ' ');
}

/** An operation without insignificant characters: GraphiQL's fetcher sends it re-printed compactly. */
const compact = (operation: string) => operation.replace(/[\s,]+/g, '');

function sentOperation(postData: string | null): string | undefined {
  try {
    const { query } = JSON.parse(postData ?? '') as { query?: string };
    return typeof query === 'string' ? compact(query) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Presses GraphiQL's run button for `operation` (already in the editor) and waits until the result
 * pane shows `expectInPane`. Returns the pane's text and the body of the HTTP response the browser
 * received for this run.
 */
async function execute(page: Page, operation: string, expectInPane: string): Promise<{ pane: string; body: string }> {
  // This run's request, recognised by its operation text (GraphiQL also POSTs introspection queries).
  const response = page.waitForResponse((r) => r.url().endsWith('/graphql') && r.request().method() === 'POST' && sentOperation(r.request().postData()) === compact(operation), {
    timeout: WAIT_MS,
  });
  await page.locator(EXECUTE).click();
  const body = await (await response).text();
  responseBodies.push(body); // the secret scan after this file covers what the browser received too
  await page
    .waitForFunction(
      ({ sel, want }) => (document.querySelector(sel) as HTMLElement | null)?.innerText.replace(/\u00a0/g, ' ').includes(want) ?? false,
      { sel: RESULT_LINES, want: expectInPane },
      { timeout: WAIT_MS },
    )
    .catch(async (err: Error) => {
      throw new Error(`result pane never showed ${expectInPane}; it shows:\n${await resultText(page)}\n(${err.message})`);
    });
  return { pane: await resultText(page), body };
}

/** The result pane as JSON (only for short answers: Monaco soft-wraps long lines, e.g. a token). */
function paneJson(pane: string): any {
  try {
    return JSON.parse(pane);
  } catch {
    throw new Error(`result pane is not JSON:\n${pane}`);
  }
}

describe.skipIf(!hasChromium)('GraphiQL in Debian Chromium', () => {
  let t: TestApp;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;
  const requests: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    rmSync(path.join(ARTIFACTS, 'graphiql-failure.png'), { force: true });
    profileDir = mkdtempSync(path.join(os.tmpdir(), 'wf-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
    });
    const origin = new URL(t.url).origin;
    // Record every request of the page and its workers; anything off the gateway's origin is also
    // aborted, so a regression fails the assertion below instead of hanging on the closed network.
    context.on('request', (r) => requests.push(r.url()));
    await context.route(
      (url) => url.origin !== origin,
      (route) => route.abort('blockedbyclient'),
    );
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  afterAll(async () => {
    await context?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await t?.close();
  });

  it('signs in through GraphiQL, runs a query, shows the result, and loads nothing from outside', async () => {
    try {
      const origin = new URL(t.url).origin;
      const offOrigin = () => requests.filter((u) => !(u.startsWith(`${origin}/`) || u.startsWith(`blob:${origin}/`) || u.startsWith('data:')));
      await page.goto(`${t.url}/graphql`, { timeout: WAIT_MS });
      await page
        .locator(QUERY_EDITOR)
        .waitFor({ state: 'visible', timeout: WAIT_MS })
        .catch((err: Error) => {
          throw new Error(`GraphiQL did not start (requests outside the gateway: ${JSON.stringify(offOrigin())}; page errors: ${JSON.stringify(pageErrors)}): ${err.message}`);
        });
      await expect(page.title()).resolves.toBe('鲸落 WhaleFall GraphQL');

      // Anonymous: the protected field is refused.
      await setEditor(page, QUERY_EDITOR, ME);
      const anonymous = await execute(page, ME, 'UNAUTHENTICATED');
      expect(paneJson(anonymous.pane).errors[0].extensions.code).toBe('UNAUTHENTICATED');

      // Sign in with the login mutation; the token comes from the response the browser received.
      const loginMutation = `mutation { login(username: "admin", password: "${ADMIN_PASSWORD}") { accessToken user { username } } }`;
      await setEditor(page, QUERY_EDITOR, loginMutation);
      const signedIn = await execute(page, loginMutation, '"accessToken"');
      const token = JSON.parse(signedIn.body).data.login.accessToken as string;
      expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      // The pane shows that same token (soft-wrapped, so compared without whitespace) and the user.
      expect(signedIn.pane.replace(/\s+/g, '')).toContain(`"accessToken":"${token}"`);
      expect(signedIn.pane.replace(/\s+/g, '')).toContain('"user":{"username":"admin"}');

      // Authenticate GraphiQL: the headers editor carries the bearer token for the next runs.
      await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
      await setEditor(page, HEADERS_EDITOR, `{"Authorization": "Bearer ${token}"}`);
      await page.keyboard.press('ControlOrMeta+Home'); // back to the start of the headers for the screenshot

      await setEditor(page, QUERY_EDITOR, ME);
      const me = await execute(page, ME, '"role": "admin"'); // the login answer above also had "username"
      expect(paneJson(me.pane)).toEqual({ data: { me: { username: 'admin', role: 'admin' } } });

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'graphiql.png') });

      // Everything came from the gateway: its URLs, or blob: URLs the page made from them.
      expect(requests.length).toBeGreaterThan(0);
      expect(offOrigin(), 'requests outside the gateway').toEqual([]);
      expect(requests).toContain(`${origin}/graphiql-assets/yoga-graphiql.umd.js`);
      expect(pageErrors, 'uncaught errors in the page').toEqual([]);
    } catch (err) {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'graphiql-failure.png') }).catch(() => {});
      throw err;
    }
  }, 120_000);
});
