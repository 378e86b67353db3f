/**
 * The real Segment, RudderStack and PostHog Node SDKs, pointed at ingest with only the host changed:
 * identify, page, track, flush, and the events are on the topic with the mapped fields. The first
 * response each SDK gets is cut off after ingest answered (Kafka had the events): the SDK sends the
 * batch again, and both copies carry the same eventIds, which the processor stores once
 * (ON CONFLICT (event_id) DO NOTHING).
 */
import type { AddressInfo } from 'node:net';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import type { TrackerApp } from '@tracker/http';
import type { InteractionRecord } from '@tracker/schemas';
import { DropFirstAnswer, uniqueName } from '@tracker/test-utils';
import type { Kafka } from 'kafkajs';
import { PostHog } from 'posthog-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { TopicReader, testConfig, testKafka, testTopics } from '../ingest.harness.js';

const KEY = 'wk_sdk_test_0123456789abcdef';

let kafka: Kafka;
let topics: Awaited<ReturnType<typeof testTopics>>;
let app: TrackerApp;
let reader: TopicReader;
let proxy: DropFirstAnswer;
let host: string;

beforeAll(async () => {
  kafka = testKafka();
  topics = await testTopics(kafka, 'sdk');
  app = await buildApp(
    testConfig({
      INGEST_TOPIC: topics.interactions,
      INGEST_API_HITS_TOPIC: topics.apiHits,
      INGEST_WRITE_KEYS: KEY,
    }),
  );
  await app.listen({ port: 0, host: '127.0.0.1' });
  proxy = await new DropFirstAnswer((app.server.address() as AddressInfo).port).start();
  host = `http://127.0.0.1:${proxy.port}`;
  reader = await new TopicReader(kafka, topics.interactions).start();
});

afterAll(async () => {
  await proxy?.stop();
  await app?.close();
  await reader?.stop();
  await topics?.drop();
});

type Stored = InteractionRecord & { key: string };

/** Every record of `userId` once `n` distinct events arrived; `copies` counts messages per eventId. */
async function recordsOf(userId: string, n: number) {
  let records: Stored[] = [];
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    records = (await reader.records()).filter((r) => r.userId === userId || r.key === userId);
    if (new Set(records.map((r) => r.eventId)).size >= n) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 500));
  records = (await reader.records()).filter((r) => r.userId === userId || r.key === userId);
  const copies = new Map<string, Stored[]>();
  for (const r of records) copies.set(r.eventId, [...(copies.get(r.eventId) ?? []), r]);
  const byAction = (action: string) => records.find((r) => r.action === action);
  return { records, copies, byAction };
}

/** Each eventId's copies are the same event (a resend), so storing by eventId keeps one of each. */
function expectResendsIdentical(copies: Map<string, Stored[]>) {
  for (const [id, list] of copies) {
    const [first, ...rest] = list;
    for (const other of rest) {
      expect(other.eventId, id).toBe(first!.eventId);
      expect(other.action).toBe(first!.action);
      // occurredAt is re-corrected with each attempt's own sentAt: equal up to the network's jitter
      expect(Math.abs(other.occurredAt - first!.occurredAt)).toBeLessThan(2000);
      expect(other.properties).toEqual(first!.properties);
    }
  }
}

describe('@segment/analytics-node 3.1.0', () => {
  it('identify, page, track, closeAndFlush: stored with the mapped fields, once per event despite a retry', async () => {
    const userId = uniqueName('seg_user');
    const analytics = new SegmentAnalytics({ writeKey: KEY, host, flushInterval: 100, maxRetries: 5 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    proxy.arm();
    analytics.identify({ userId, traits: { role: 'admin', plan: 'team', address: { city: 'Paris' } } });
    analytics.page({
      userId,
      name: 'Pricing',
      properties: { url: 'https://shop.example/pricing?plan=pro&utm_source=mail#top', title: 'Pricing' },
    });
    analytics.track({
      userId,
      event: 'Order Completed',
      properties: { revenue: 9.5, products: [{ sku: 'a-1' }], coupon: null },
      context: { userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0' },
    });
    await analytics.closeAndFlush({ timeout: 30_000 });
    expect(errors).toEqual([]);
    expect(proxy.dropped).toBe(1);
    expect(proxy.requests[0]).toMatch(/^post \/v1\/batch http\/1\.1/);
    expect(proxy.requests[0]).toMatch(/content-type: application\/json/);
    expect(proxy.requests[0]).toContain(
      `authorization: basic ${Buffer.from(`${KEY}:`).toString('base64')}`.toLowerCase(),
    );

    const { records, copies, byAction } = await recordsOf(userId, 3);
    expect(copies.size).toBe(3);
    // The batch was produced twice (first answer cut off, then the retry): same eventIds both times.
    expect(records.length).toBe(6);
    expectResendsIdentical(copies);

    expect(byAction('identify')).toMatchObject({
      type: 'IDENTIFY',
      key: userId,
      role: 'ADMIN',
      page: '',
      properties: {
        plan: 'team',
        'address.city': 'Paris',
        'context.library.name': '@segment/analytics-node',
      },
    });
    expect(byAction('identify')!.properties).not.toHaveProperty('role');
    expect(byAction('page_view')).toMatchObject({
      type: 'TRACK',
      page: '/pricing?utm_source=mail',
      properties: { name: 'Pricing', title: 'Pricing', url: 'https://shop.example/pricing?utm_source=mail' },
    });
    expect(byAction('order_completed')).toMatchObject({
      page: '/',
      properties: { event: 'Order Completed', revenue: 9.5, products: '[{"sku":"a-1"}]' },
      isBot: false,
    });
    expect(byAction('order_completed')!.properties).not.toHaveProperty('coupon');
    // timestamp + sentAt: occurredAt is corrected to the ingest clock, within the test's span.
    for (const r of records) expect(Math.abs(r.receivedAt - r.occurredAt)).toBeLessThan(30_000);
  });
});

describe('@rudderstack/rudder-sdk-node 3.1.1', () => {
  it('identify, page, track, flush (gzip under a form content type, Basic auth only): stored once per event despite a retry', async () => {
    const userId = uniqueName('rs_user');
    const client = new RudderAnalytics(KEY, { dataPlaneUrl: host, flushInterval: 100, logLevel: 'error' });
    proxy.arm();
    client.identify({ userId, anonymousId: 'anon-rs-1', traits: { role: 'user', plan: 'free' } });
    client.page({ userId, name: 'Docs', properties: { path: '/docs/start', search: '?ref=nav' } });
    client.track({ userId, event: 'Signed Up', properties: { method: 'email' } });
    await client.flush();
    expect(proxy.dropped).toBe(1);
    expect(proxy.requests[0]).toMatch(/^post \/v1\/batch http\/1\.1/);
    expect(proxy.requests[0]).toMatch(/content-type: application\/x-www-form-urlencoded/);
    expect(proxy.requests[0]).toMatch(/content-encoding: gzip/);
    expect(proxy.requests[0]).toMatch(/authorization: basic /);

    const { records, copies, byAction } = await recordsOf(userId, 3);
    expect(copies.size).toBe(3);
    // rudder-sdk-node sends the first message of its life at once (the cut request), the rest together.
    expect(records.length).toBe(4);
    expect(copies.get(byAction('identify')!.eventId)).toHaveLength(2);
    expectResendsIdentical(copies);
    expect(byAction('identify')).toMatchObject({
      type: 'IDENTIFY',
      role: 'USER',
      properties: { plan: 'free', anonymousId: 'anon-rs-1', 'context.library.name': 'analytics-node' },
    });
    // the page path from properties.path (+ search, whose parameters INGEST_URL_QUERY_ALLOW drops)
    expect(byAction('page_view')).toMatchObject({ page: '/docs/start', properties: { name: 'Docs' } });
    expect(byAction('signed_up')).toMatchObject({ properties: { event: 'Signed Up', method: 'email' } });
  });
});

describe('posthog-node 5.74.0', () => {
  it('identify, $pageview, capture, shutdown (gzip JSON to /batch/): stored once per event despite a retry', async () => {
    const distinctId = uniqueName('ph_user');
    const client = new PostHog(KEY, { host, flushAt: 10, flushInterval: 100, fetchRetryDelay: 100 });
    const errors: unknown[] = [];
    client.on('error', (e) => errors.push(e));
    proxy.arm();
    client.identify({
      distinctId,
      properties: { $set: { role: 'guest', email_domain: 'example.com' }, $anon_distinct_id: 'anon-ph-1' },
    });
    client.capture({
      distinctId,
      event: '$pageview',
      properties: { $current_url: 'https://app.example/settings?tab=2' },
    });
    client.capture({ distinctId, event: 'Order Completed', properties: { total: 20, currency: 'EUR' } });
    client.capture({ distinctId, event: '$autocapture', properties: { $event_type: 'click' } });
    await client.shutdown(30_000);
    expect(errors).toEqual([]);
    expect(proxy.dropped).toBe(1);
    expect(proxy.requests[0]).toMatch(/^post \/batch\/ http\/1\.1/);
    expect(proxy.requests[0]).toMatch(/content-encoding: gzip/);
    expect(proxy.requests[0]).not.toMatch(/authorization:/);

    const { records, copies, byAction } = await recordsOf(distinctId, 4);
    expect(copies.size).toBe(4);
    expect(records.length).toBe(8);
    expectResendsIdentical(copies);
    expect(byAction('identify')).toMatchObject({
      type: 'IDENTIFY',
      role: 'GUEST',
      properties: { email_domain: 'example.com', anonymousId: 'anon-ph-1' },
    });
    expect(byAction('page_view')).toMatchObject({ page: '/settings' });
    expect(byAction('order_completed')).toMatchObject({
      properties: { event: 'Order Completed', total: 20, currency: 'EUR', $lib: 'posthog-node' },
    });
    expect(byAction('autocapture')).toMatchObject({
      properties: { event: '$autocapture', $event_type: 'click' },
    });
    for (const r of records) expect(r.properties).not.toHaveProperty('token');
  });
});
