/**
 * The real Segment, RudderStack and PostHog Node SDKs against the whole stack: ingest, processor and
 * query as the built services (child processes), the SDKs pointed at ingest with only the host
 * changed, through a proxy that cuts off the first answer after ingest handled it (Kafka has the
 * events), so each SDK sends its batch again. identify, page, track, flush; then the events are read
 * back through the query API (with a read key, as in production) and the identifies table: once
 * each, with the mapped fields, the role of the identify applied to what followed it.
 * apps/ingest/src/compat/sdk-clients.int.test.ts checks the same SDKs on the wire and on the topic.
 */
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import { PostHog } from 'posthog-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../database.js';
import { DropFirstAnswer } from '../drop-first-answer.js';
import { Pipeline } from '../reliability/pipeline.js';
import type { ServiceProcess } from '../services.js';
import { waitFor } from '../wait.js';

const KEY = 'node-sdk-e2e-write-key-0001';
const READ_KEY = 'node-sdk-e2e-read-key-00001';

let p: Pipeline;
let query: ServiceProcess;
let proxy: DropFirstAnswer;

beforeAll(async () => {
  p = await Pipeline.create('node_sdks', { partitions: 1 });
  let ingest: ServiceProcess;
  [ingest, , query] = await Promise.all([
    p.start('ingest', { env: { INGEST_WRITE_KEYS: KEY } }),
    p.start('processor'),
    p.start('query', { env: { QUERY_READ_KEYS: READ_KEY } }),
  ]);
  proxy = await new DropFirstAnswer(ingest.port).start();
});

afterAll(async () => {
  await proxy?.stop();
  await p?.close();
});

interface Item {
  eventId: string;
  userId: string;
  role: string;
  action: string;
  page: string;
  properties: Record<string, string | number | boolean>;
}

async function interactions(userId: string): Promise<Item[]> {
  const response = await fetch(
    `${query.url}/api/interactions?limit=100&userId=${encodeURIComponent(userId)}`,
    {
      headers: { authorization: `Bearer ${READ_KEY}` },
    },
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: Item[] }).items;
}

async function identifies(userId: string) {
  const { rows } = await p.db.pool.query<{ eventId: string; role: string; traits: Record<string, unknown> }>(
    'SELECT event_id::text AS "eventId", role::text AS role, traits FROM identifies WHERE user_id = $1',
    [userId],
  );
  return rows;
}

/**
 * What is stored of `userId`'s `tracks` track events and one identify, all sent since the topic
 * ended at `before`: waits until the resent copies are on the topic too (more messages than events),
 * the events are served by the query API and the identify is stored, then until the processor has
 * read the whole topic, so that a late copy would already show.
 */
async function stored(userId: string, tracks: number, before: number) {
  const sent = tracks + 1;
  const onTopic = await waitFor(
    async () => {
      const n = (await p.endOffset()) - before;
      return n > sent ? n : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `more than ${sent} messages on the topic (the resend)` },
  );
  // Both copies of the resent batch, at most: every event at most twice.
  expect(onTopic).toBeLessThanOrEqual(2 * sent);
  await waitFor(
    async () => {
      const actions = new Set((await interactions(userId)).map((i) => i.action));
      return (
        actions.has('page_view') && actions.has('order_completed') && (await identifies(userId)).length > 0
      );
    },
    {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: `the events of ${userId} in /api/interactions and identifies`,
    },
  );
  await p.waitCaughtUp();
  const items = await interactions(userId);
  const identified = await identifies(userId);
  // Once each: one row per track event (distinct eventIds), one identify.
  expect(items.map((i) => i.action).sort()).toEqual(['order_completed', 'page_view']);
  expect(items).toHaveLength(tracks);
  expect(new Set(items.map((i) => i.eventId)).size).toBe(tracks);
  expect(identified).toHaveLength(1);
  return { items, identified, byAction: (action: string) => items.find((i) => i.action === action) };
}

describe('@segment/analytics-node 3.1.0 (whole stack)', () => {
  it('identify, page, track, closeAndFlush: in /api/interactions once each despite the resend', async () => {
    const userId = uniqueName('seg_node_user');
    const before = await p.endOffset();
    const analytics = new SegmentAnalytics({
      writeKey: KEY,
      host: proxy.url,
      flushInterval: 100,
      maxRetries: 5,
    });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    proxy.arm();
    analytics.identify({ userId, traits: { role: 'ADMIN', plan: 'team' } });
    analytics.page({
      userId,
      name: 'Pricing',
      properties: { url: 'https://shop.example/pricing', title: 'Pricing' },
    });
    analytics.track({
      userId,
      event: 'Order Completed',
      properties: {
        revenue: 9.5,
        currency: 'EUR',
        shipping: { method: 'express', address: { city: 'Paris' } },
      },
    });
    await analytics.closeAndFlush({ timeout: 30_000 });
    expect(errors).toEqual([]);
    // The first answer was cut off after ingest handled it, and the SDK sent the batch again.
    expect(proxy.dropped).toBe(1);
    expect(proxy.requests.length).toBeGreaterThanOrEqual(2);
    expect(proxy.requests.every((r) => r.startsWith('post /v1/batch '))).toBe(true);

    const result = await stored(userId, 2, before);
    expect(result.byAction('page_view')).toMatchObject({
      role: 'ADMIN',
      page: '/pricing',
      properties: { name: 'Pricing', title: 'Pricing' },
    });
    expect(result.byAction('order_completed')).toMatchObject({
      role: 'ADMIN',
      page: '/',
      properties: {
        event: 'Order Completed',
        revenue: 9.5,
        currency: 'EUR',
        'shipping.method': 'express',
        'shipping.address.city': 'Paris',
      },
    });
    expect(result.identified[0]).toMatchObject({ role: 'ADMIN', traits: { plan: 'team' } });
    expect(result.identified[0]!.traits).not.toHaveProperty('role');
  });
});

describe('@rudderstack/rudder-sdk-node 3.1.1 (whole stack)', () => {
  it('identify, page, track, flush: in /api/interactions once each despite the resend', async () => {
    const userId = uniqueName('rs_node_user');
    const before = await p.endOffset();
    const client = new RudderAnalytics(KEY, {
      dataPlaneUrl: proxy.url,
      flushInterval: 100,
      logLevel: 'error',
    });
    proxy.arm();
    client.identify({ userId, traits: { role: 'ADMIN', plan: 'free' } });
    client.page({ userId, name: 'Docs', properties: { path: '/docs/start' } });
    client.track({
      userId,
      event: 'Order Completed',
      properties: { total: 20, items: { count: 2, first: { sku: 'b-2' } } },
    });
    await client.flush();
    // Its first message goes alone (the cut request, sent again), the others in a batch after it.
    expect(proxy.dropped).toBe(1);
    expect(proxy.requests.length).toBeGreaterThanOrEqual(2);
    expect(proxy.requests.every((r) => r.startsWith('post /v1/batch '))).toBe(true);

    const result = await stored(userId, 2, before);
    expect(result.byAction('page_view')).toMatchObject({
      role: 'ADMIN',
      page: '/docs/start',
      properties: { name: 'Docs' },
    });
    expect(result.byAction('order_completed')).toMatchObject({
      role: 'ADMIN',
      properties: { event: 'Order Completed', total: 20, 'items.count': 2, 'items.first.sku': 'b-2' },
    });
    expect(result.identified[0]).toMatchObject({ role: 'ADMIN', traits: { plan: 'free' } });
  });
});

describe('posthog-node 5.74.0 (whole stack)', () => {
  it('identify, $pageview, capture, shutdown: in /api/interactions once each despite the resend', async () => {
    const distinctId = uniqueName('ph_node_user');
    const before = await p.endOffset();
    const client = new PostHog(KEY, {
      host: proxy.url,
      flushAt: 10,
      flushInterval: 100,
      fetchRetryDelay: 100,
    });
    const errors: unknown[] = [];
    client.on('error', (e) => errors.push(e));
    proxy.arm();
    client.identify({ distinctId, properties: { $set: { role: 'ADMIN', plan: 'team' } } });
    client.capture({
      distinctId,
      event: '$pageview',
      properties: { $current_url: 'https://app.example/settings' },
    });
    client.capture({
      distinctId,
      event: 'Order Completed',
      properties: { total: 20, currency: 'EUR', cart: { coupon: 'SPRING', lines: { count: 3 } } },
    });
    await client.shutdown(30_000);
    expect(errors).toEqual([]);
    expect(proxy.dropped).toBe(1);
    expect(proxy.requests.length).toBeGreaterThanOrEqual(2);
    expect(proxy.requests.every((r) => r.startsWith('post /batch/ '))).toBe(true);

    const result = await stored(distinctId, 2, before);
    expect(result.byAction('page_view')).toMatchObject({ role: 'ADMIN', page: '/settings' });
    expect(result.byAction('order_completed')).toMatchObject({
      role: 'ADMIN',
      properties: {
        event: 'Order Completed',
        total: 20,
        currency: 'EUR',
        'cart.coupon': 'SPRING',
        'cart.lines.count': 3,
        $lib: 'posthog-node',
      },
    });
    expect(result.identified[0]).toMatchObject({ role: 'ADMIN', traits: { plan: 'team' } });
  });
});
