// axe-core (the engine behind browsers' accessibility audits) on every page the query service serves
// to people: the dashboard in each state it can be in (data, filtered, no rows, key prompt, wrong key,
// API down), light and dark, desktop and phone width, and every demo page. Any violation of a WCAG 2.1
// A/AA rule, or of axe's best practices (heading order, content inside landmarks), fails the test with
// the rule, its impact and the elements.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@tracker/test-utils';
import { type LaunchedChromium, launchChromium } from '@tracker/test-utils/chromium';
import type { AxeResults, RunOptions } from 'axe-core';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARTIFACTS_DIR,
  buildDashboard,
  type RunningQuery,
  seedDashboard,
  startQuery,
} from './dashboard.harness.js';

// page.evaluate callbacks run in Chromium; this program has no DOM lib, so the globals they use are
// declared here.
declare const axe: { run(context: unknown, options: RunOptions): Promise<AxeResults> } | undefined;
declare const document: {
  querySelectorAll(selector: string): ArrayLike<{ open: boolean; dataset: Record<string, string> }>;
  documentElement: { dataset: Record<string, string | undefined> };
  fonts: { ready: Promise<unknown> };
};
declare const localStorage: { removeItem(key: string): void };

/** The WCAG 2.1 A and AA rules, and axe's best practices (heading-order, region, landmark-*). */
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
const AXE_SOURCE = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** The browser snippet ingest serves (packages/tracker, built): the demo pages load it. */
const TRACKER_JS = fileURLToPath(new URL('../../../packages/tracker/dist/tracker.js', import.meta.url));
const READ_KEY = 'a11y-read-key-0123456789';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const SCHEMES = ['light', 'dark'] as const;
const VIEWS = [
  ['desktop', DESKTOP],
  ['phone', PHONE],
] as const;

let seeded: TestDatabase;
let empty: TestDatabase;
let query: RunningQuery;
let emptyQuery: RunningQuery;
let keyedQuery: RunningQuery;
let browser: LaunchedChromium;
/** Stands in for ingest: serves the real snippet and accepts whatever the demo pages send. */
let ingest: http.Server;

beforeAll(async () => {
  buildDashboard();
  const trackerJs = await readFile(TRACKER_JS, 'utf8').catch(() => {
    throw new Error(`${TRACKER_JS} is missing: build the snippet first (pnpm turbo run build)`);
  });
  ingest = http.createServer((request, response) => {
    const cors = {
      'access-control-allow-origin': request.headers.origin ?? '*',
      'access-control-allow-headers': 'content-type, x-write-key, authorization',
      'access-control-allow-methods': 'GET, POST, OPTIONS',
    };
    request.resume();
    if (request.method === 'GET' && request.url?.startsWith('/v1/tracker.js')) {
      response.writeHead(200, { ...cors, 'content-type': 'text/javascript' });
      response.end(trackerJs);
    } else {
      response.writeHead(request.method === 'OPTIONS' ? 204 : 202, cors);
      response.end();
    }
  });
  await new Promise<void>((resolve) => ingest.listen(0, '127.0.0.1', resolve));
  const ingestUrl = `http://127.0.0.1:${(ingest.address() as AddressInfo).port}`;

  seeded = await createTestDatabase('query_a11y');
  await seedDashboard(seeded.pool);
  empty = await createTestDatabase('query_a11y_empty');
  query = await startQuery(seeded.url, { QUERY_DEMO_INGEST_URL: ingestUrl });
  emptyQuery = await startQuery(empty.url);
  keyedQuery = await startQuery(seeded.url, { QUERY_READ_KEYS: READ_KEY });
  browser = await launchChromium({ viewport: DESKTOP, locale: 'en-US', timezoneId: 'Europe/Berlin' });
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([query?.close(), emptyQuery?.close(), keyedQuery?.close()]);
  await Promise.all([seeded?.drop(), empty?.drop()]);
  await new Promise((resolve) => ingest?.close(resolve));
});

// ------------------------------------------------------------------------------------------ helpers

/**
 * Runs axe on the page as it is and returns one line per failing element:
 * `<state>: <rule> (<impact>) <selector> — <what is wrong>`.
 */
async function audit(page: Page, state: string): Promise<string[]> {
  // The pages' CSP allows no inline script, so a <script> tag with axe's source would be blocked;
  // page.evaluate goes through the DevTools protocol, which the CSP does not govern.
  if (!(await page.evaluate(() => typeof axe !== 'undefined'))) await page.evaluate(AXE_SOURCE);
  await page.evaluate(() => document.fonts.ready);
  const violations = await page.evaluate(async (tags) => {
    const results = await axe!.run(document, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations'],
    });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? 'unknown',
      nodes: v.nodes.map((n) => ({
        target: n.target.map(String).join(' >>> '),
        why: [...n.any, ...n.all, ...n.none].map((c) => c.message).join(' / '),
      })),
    }));
  }, TAGS);
  return violations.flatMap((v) =>
    v.nodes.map((n) => `${state}: ${v.id} (${v.impact}) ${n.target} — ${n.why}`),
  );
}

function expectNoViolations(found: string[]): void {
  expect(found, `${found.length} axe violations:\n${found.join('\n')}`).toEqual([]);
}

async function readyState(page: Page, state: string): Promise<void> {
  await page.waitForSelector(`main[data-state="${state}"][aria-busy="false"]`, { timeout: 20_000 });
}

/** Count-up animations, the live pill and chart transitions at rest, so colours are the final ones. */
async function settle(page: Page): Promise<void> {
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll('[data-card]')).every(
      (card) => card.dataset.shown === card.dataset.value,
    ),
  );
  await page.waitForTimeout(900);
}

/**
 * Audits the page in both colour schemes (prefers-color-scheme) at desktop and phone width, saving a
 * screenshot of each into test-artifacts/.
 */
async function auditEverywhere(page: Page, state: string, wait = settle): Promise<string[]> {
  const found: string[] = [];
  for (const [view, size] of VIEWS) {
    await page.setViewportSize(size);
    for (const scheme of SCHEMES) {
      await page.emulateMedia({ colorScheme: scheme });
      await wait(page);
      await page.screenshot({
        path: join(ARTIFACTS_DIR, `a11y-${state.replace(/[^a-z0-9]+/gi, '-')}-${view}-${scheme}.png`),
        fullPage: true,
      });
      found.push(...(await audit(page, `${state} ${view} ${scheme}`)));
    }
  }
  await page.setViewportSize(DESKTOP);
  await page.emulateMedia({ colorScheme: 'light' });
  return found;
}

// ------------------------------------------------------------------------------------------ tests

describe('dashboard', () => {
  it('has no violations with data', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${query.base}/`);
    await readyState(page, 'ready');
    await page.waitForSelector('#live-status[data-mode="live"]');
    expectNoViolations(await auditEverywhere(page, 'data'));
    await page.close();
  });

  it('has no violations filtered, with a quick range chosen and the chart tables open', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${query.base}/?role=USER`);
    await readyState(page, 'ready');
    await page.click('button[data-range="30"]');
    await page.waitForSelector('button[data-range="30"][aria-pressed="true"]');
    await readyState(page, 'ready');
    await page.evaluate(() => {
      for (const details of Array.from(document.querySelectorAll('details.chart-data'))) details.open = true;
    });
    expectNoViolations(await auditEverywhere(page, 'filtered'));
    await page.close();
  });

  it('has no violations with a table row hovered (its tags on the hover background)', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${query.base}/`);
    await readyState(page, 'ready');
    const found: string[] = [];
    for (const scheme of SCHEMES) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.hover('#interactions tbody tr');
      // The colours change with 0.15 s transitions: audited before they end, axe read a button half
      // way between the light and dark accents (4.47:1).
      await settle(page);
      found.push(...(await audit(page, `row hovered ${scheme}`)));
    }
    expectNoViolations(found);
    await page.close();
  });

  it('has no violations with the theme forced by the toggle (against the system scheme)', async () => {
    const page = await browser.context.newPage();
    const found: string[] = [];
    for (const system of SCHEMES) {
      await page.emulateMedia({ colorScheme: system });
      await page.goto(`${query.base}/`);
      await readyState(page, 'ready');
      await page.click('#theme-toggle');
      expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(
        system === 'light' ? 'dark' : 'light',
      );
      await settle(page);
      found.push(...(await audit(page, `toggled from ${system}`)));
      await page.evaluate(() => localStorage.removeItem('tracker.theme'));
    }
    expectNoViolations(found);
    await page.close();
  });

  it('has no violations with no rows (empty state)', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${emptyQuery.base}/`);
    await readyState(page, 'empty');
    expectNoViolations(await auditEverywhere(page, 'empty', (p) => p.waitForTimeout(300)));
    await page.close();
  });

  it('has no violations with the read-key prompt open, before and after a wrong key', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${keyedQuery.base}/`);
    await page.waitForSelector('#key-dialog[open]');
    await readyState(page, 'locked');
    const found = await auditEverywhere(page, 'key-prompt', (p) => p.waitForTimeout(300));
    await page.fill('#key-input', 'wrong-key');
    await page.click('#key-form button[type="submit"]');
    await page.waitForSelector('#key-dialog[open] #key-error:not([hidden])');
    found.push(...(await auditEverywhere(page, 'wrong-key', (p) => p.waitForTimeout(300))));
    expectNoViolations(found);
    await page.close();
  });

  it('has no violations when the API does not answer (error state, offline)', async () => {
    const page = await browser.context.newPage();
    await page.route('**/api/**', (route) => route.abort('connectionrefused'));
    await page.goto(`${query.base}/`);
    await readyState(page, 'error');
    expectNoViolations(await auditEverywhere(page, 'error', (p) => p.waitForTimeout(300)));
    await page.close();
  });
});

describe('demo site', () => {
  for (const path of ['', 'pricing.html', 'signup.html', 'welcome.html', 'docs/getting-started.html']) {
    it(`has no violations on /demo/${path}`, async () => {
      const page = await browser.context.newPage();
      await page.goto(`${query.base}/demo/${path}`);
      await page.waitForFunction('window.tracker && window.tracker.enabled === true');
      await page.waitForSelector('#demo-who:not(:empty)');
      expectNoViolations(
        await auditEverywhere(page, `demo/${path || 'index'}`, (p) => p.waitForTimeout(100)),
      );
      await page.close();
    });
  }

  it('has no violations on /demo/ when the tracker cannot load (the banner shows an error)', async () => {
    const page = await browser.context.newPage();
    await page.route('**/v1/tracker.js', (route) => route.abort('connectionrefused'));
    await page.goto(`${query.base}/demo/`);
    await page.waitForSelector('#demo-who.demo-error');
    expectNoViolations(await auditEverywhere(page, 'demo-error', (p) => p.waitForTimeout(100)));
    await page.close();
  });
});
