/**
 * Bad input against the whole stack (ingest, processor and query as child processes):
 * - a systematic corpus of several hundred bad requests (bad-requests.ts: wrong types, missing and
 *   oversized fields, oversized bodies, deep nesting, bytes that are not UTF-8, __proto__ /
 *   constructor / prototype keys, SQL and HTML injection in every field and filter where it is not
 *   valid, bad dates, huge limits, forged cursors, wrong content types and methods) gets a 4xx in the
 *   common error shape every time, never a 5xx, and nothing reaches Kafka or PostgreSQL;
 * - injection strings that are valid data are stored verbatim, read back equal, match as plain
 *   values in filters (no SQL, no LIKE wildcards), and show as text on the dashboard in Chromium
 *   without running any script.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../chromium.js';
import type { ServiceProcess } from '../services.js';
import { waitFor } from '../wait.js';
import { type BadRequest, badRequests, forgedCursors } from './bad-requests.js';
import { Pipeline, readyStatus, sendBatches } from './pipeline.js';

let p: Pipeline;
let ingest: ServiceProcess;
let processor: ServiceProcess;
let query: ServiceProcess;

beforeAll(async () => {
  p = await Pipeline.create('badinput', { partitions: 3 });
  [ingest, processor, query] = await Promise.all([
    p.start('ingest', { env: { INGEST_IMPORT_MAX_BYTES: '65536' } }),
    p.start('processor'),
    p.start('query'),
  ]);
});

afterAll(async () => {
  await p?.close();
});

interface Answer {
  status: number;
  body: string;
}

async function send(request: BadRequest): Promise<Answer> {
  const base = request.service === 'ingest' ? ingest.url : query.url;
  const response = await fetch(`${base}${request.path}`, {
    method: request.method,
    ...(request.headers ? { headers: request.headers } : {}),
    ...(request.body !== undefined ? { body: request.body } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  // A stream that was (wrongly) opened would never end: read only the head of it.
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
    await response.body?.cancel();
    return { status: response.status, body: '(event stream)' };
  }
  return { status: response.status, body: await response.text() };
}

/** Why an answer is not a 4xx in the common error shape, or null when it is. */
function problem({ status, body }: Answer): string | null {
  if (status < 400 || status >= 500) return `status ${status}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'body is not JSON';
  }
  const b = parsed as Record<string, unknown>;
  if (b.status !== status) return 'body.status differs from the HTTP status';
  if (typeof b.code !== 'string' || !/^[A-Z_0-9]+$/.test(b.code)) return 'no code';
  if (typeof b.message !== 'string' || b.message.length === 0) return 'no message';
  if (!Array.isArray(b.details)) return 'no details array';
  for (const d of b.details as Record<string, unknown>[])
    if (typeof d.path !== 'string' || typeof d.message !== 'string') return 'a detail without path/message';
  return null;
}

/** Elements the injection strings describe: none may exist in the table or the filter summary. */
const INJECTED_ELEMENTS = ['#rows', '#filter-summary']
  .flatMap((container) => ['img', 'svg', 'iframe', 'script'].map((tag) => `${container} ${tag}`))
  .join(', ');

interface InjectionEvent {
  userId: string;
  action: string;
  page: string;
  sessionId?: string;
  properties?: Record<string, string>;
  userAgent?: string;
}

/** The valid injection strings, as a client sends them. */
const VALID_INJECTIONS: InjectionEvent[] = [
  {
    userId: '<script>alert(1)</script>',
    action: 'click',
    // An allowed query parameter (INGEST_URL_QUERY_ALLOW, default utm_*): stored, so its value is checked.
    page: "/x?utm_term='; DROP TABLE interactions;--",
    sessionId: "' OR '1'='1",
    properties: {
      note: '<img src=x onerror="window.__pwned=1">',
      sql: '1; DROP TABLE users;--',
      "'; DELETE FROM interactions;--": '<svg onload=window.__pwned=1>',
      constructor: 'not a constructor',
      prototype: 'not a prototype',
    },
    userAgent: '<svg/onload=window.__pwned=1>',
  },
  {
    userId: "Robert'); DROP TABLE interactions;--",
    action: 'form_submit',
    page: '/<img src=x onerror=alert(1)>',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an injection string, not a template
    properties: { template: '{{constructor.constructor("window.__pwned=1")()}}', dollar: '${alert(1)}' },
  },
  { userId: '%', action: 'page_view', page: '/100%_done' },
  {
    userId: '"><iframe src=javascript:alert(1)>',
    action: 'page_view',
    page: '/"><script>window.__pwned=1</script>',
  },
];

interface Item {
  eventId: string;
  userId: string;
  action: string;
  page: string;
  sessionId: string | null;
  properties: Record<string, unknown>;
}

const getJson = async <T>(path: string): Promise<T> => {
  const response = await fetch(`${query.url}${path}`);
  expect(response.status, `${path}: ${response.status}`).toBe(200);
  return (await response.json()) as T;
};

describe('bad input', () => {
  it('answers every request of the corpus with a 4xx in the common error shape and stores nothing', {
    timeout: 240_000,
  }, async () => {
    // Something stored first, so "nothing changed" is measured against a live table.
    await sendBatches(ingest.url, [
      {
        eventId: crypto.randomUUID(),
        userId: 'before',
        role: 'USER',
        action: 'click',
        page: '/before',
        timestamp: new Date().toISOString(),
      },
    ]);
    await p.waitForRows(1, 60_000);
    const first = await getJson<{ nextCursor: string }>('/api/interactions?limit=1');
    await p.waitCaughtUp();
    const endBefore = await p.endOffset();
    const rowsBefore = await p.count();

    const corpus = badRequests();
    for (const cursor of forgedCursors())
      for (const route of ['/api/interactions'])
        corpus.push({
          service: 'query',
          label: `forged cursor ${cursor.slice(0, 30)}`,
          method: 'GET',
          path: `${route}?cursor=${encodeURIComponent(cursor)}`,
        });
    // A real cursor used with other filters than the ones it was issued for.
    corpus.push({
      service: 'query',
      label: 'cursor from other filters',
      method: 'GET',
      path: `/api/interactions?role=ADMIN&cursor=${encodeURIComponent(first.nextCursor ?? 'x')}`,
    });
    expect(corpus.length).toBeGreaterThanOrEqual(300);

    const failures: string[] = [];
    const statuses = new Map<number, number>();
    // Four at a time: a client population, not one polite caller.
    for (let i = 0; i < corpus.length; i += 4) {
      await Promise.all(
        corpus.slice(i, i + 4).map(async (request) => {
          const answer = await send(request);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          const why = problem(answer);
          if (why)
            failures.push(`${request.service} ${request.label}: ${why} — ${answer.body.slice(0, 200)}`);
        }),
      );
    }
    expect(failures).toEqual([]);
    console.info(
      `bad input: ${corpus.length} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );

    // Nothing was produced, nothing stored (the processor had time to store anything that slipped through).
    expect(await p.endOffset()).toBe(endBefore);
    await p.waitCaughtUp();
    expect(await p.count()).toBe(rowsBefore);
    expect(await readyStatus(ingest.url)).toBe(200);
    expect(await readyStatus(processor.url)).toBe(200);
    expect(await readyStatus(query.url)).toBe(200);
    expect(ingest.running && processor.running && query.running).toBe(true);
  });

  it('stores injection strings that are valid data verbatim and matches them only as plain values', {
    timeout: 120_000,
  }, async () => {
    const rowsBefore = await p.count();
    const response = await fetch(`${ingest.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: VALID_INJECTIONS }),
    });
    expect(response.status).toBe(202);
    const { accepted } = (await response.json()) as { accepted: { index: number; id: string }[] };
    expect(accepted).toHaveLength(VALID_INJECTIONS.length);
    await p.waitForRows(rowsBefore + VALID_INJECTIONS.length, 60_000);

    for (const [i, sent] of VALID_INJECTIONS.entries()) {
      const page = await getJson<{ items: Item[]; total?: number }>(
        `/api/interactions?userId=${encodeURIComponent(sent.userId)}`,
      );
      expect(page.items).toHaveLength(1);
      const item = page.items[0]!;
      expect(item.eventId).toBe(accepted.find((a) => a.index === i)!.id);
      expect(item.userId).toBe(sent.userId);
      expect(item.page).toBe(sent.page);
      expect(item.sessionId).toBe(sent.sessionId ?? null);
      expect(item.properties).toEqual(sent.properties ?? {});
      // The page filter finds it by its exact value too.
      const byPage = await getJson<{ items: Item[] }>(
        `/api/interactions?page=${encodeURIComponent(sent.page)}`,
      );
      expect(byPage.items.map((x) => x.eventId)).toEqual([item.eventId]);
    }
    // Filters are values, not SQL or LIKE patterns.
    const total = await p.count();
    for (const [filter, value] of [
      ['userId', "' OR '1'='1"],
      ['userId', "x' OR 1=1--"],
      ['userId', '_'],
      ['page', "/x' OR '1'='1"],
      ['page', '%*'],
      ['page', '_*'],
      ['page', '/%*'],
    ] as const) {
      const found = await getJson<{ items: Item[] }>(
        `/api/interactions?${filter}=${encodeURIComponent(value)}&limit=500`,
      );
      expect(found.items, `${filter}=${value}`).toEqual([]);
    }
    const percent = await getJson<{ items: Item[] }>(
      `/api/interactions?page=${encodeURIComponent('/100%*')}`,
    );
    expect(percent.items.map((x) => x.page)).toEqual(['/100%_done']);
    const facets = await getJson<{ users: { value: string }[] }>(
      `/api/facets?q=${encodeURIComponent("'; DROP TABLE interactions;--")}`,
    );
    expect(facets.users).toEqual([]);
    expect(await p.count()).toBe(total);
  });

  it('shows them as text on the dashboard in Chromium, running no script', { timeout: 120_000 }, async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      const dialogs: string[] = [];
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      for (const sent of VALID_INJECTIONS) {
        await page.goto(`${query.url}/?userId=${encodeURIComponent(sent.userId)}`);
        await waitFor(async () => (await page.textContent('#rows .col-user')) === sent.userId, {
          timeoutMs: 30_000,
          what: `the row of ${sent.userId}`,
        });
        expect(await page.textContent('#rows .col-page')).toBe(sent.page);
        if (sent.properties?.note)
          expect(await page.textContent('#rows .col-props')).toContain(sent.properties.note);
        expect(await page.textContent('#filter-summary')).toContain(sent.userId);
        // Nothing the strings describe became an element, and nothing ran.
        expect(
          await page.evaluate(`document.querySelectorAll(${JSON.stringify(INJECTED_ELEMENTS)}).length`),
        ).toBe(0);
        expect(await page.evaluate('window.__pwned')).toBeUndefined();
      }
      expect(dialogs).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
