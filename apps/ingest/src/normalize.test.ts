import { LIMITS } from '@tracker/schemas';
import { describe, expect, it } from 'vitest';
import {
  agentOf,
  BOT_MEMO_SIZE,
  isBotAgent,
  jsonBytes,
  jsonBytesBound,
  normalizeAction,
  normalizePage,
  normalizeRole,
  occurredAt,
  prepareIdentify,
  prepareInteraction,
  type RequestContext,
} from './normalize.js';
import { queryAllowList } from './url-privacy.js';

const NOW = Date.parse('2026-06-01T12:00:00.000Z');
const ctx: RequestContext = { receivedAt: NOW, userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' };
const base = { userId: 'u-1', action: 'page_view', page: '/home' };

describe('page', () => {
  it.each([
    ['https://shop.example/cart?step=2#top', '/cart?step=2'],
    ['http://shop.example', '/'],
    ['HTTPS://Shop.Example/A%20B', '/A%20B'],
    ['/docs/intro?x=1', '/docs/intro?x=1'],
    ['/docs#section', '/docs'],
    ['/', '/'],
  ])('stores %s as %s', (input, stored) => {
    expect(normalizePage(input)).toBe(stored);
  });

  it.each(['docs/intro', 'ftp://files.example/a', 'javascript:alert(1)', 'https://', '', '#top'])(
    'refuses %j',
    (input) => {
      expect(normalizePage(input)).toBeUndefined();
    },
  );
});

describe('role and action', () => {
  it('upper-cases the role and defaults to GUEST', () => {
    expect(normalizeRole('admin')).toBe('ADMIN');
    expect(normalizeRole('User')).toBe('USER');
    expect(normalizeRole(undefined)).toBe('GUEST');
  });

  it('lower-cases the action, then requires [a-z0-9_.:-]', () => {
    expect(normalizeAction('Form_Submit')).toBe('form_submit');
    expect(normalizeAction('checkout:step.2-done')).toBe('checkout:step.2-done');
    expect(normalizeAction('add to cart')).toBeUndefined();
    expect(normalizeAction('café')).toBeUndefined();
    expect(normalizeAction('a'.repeat(65))).toBeUndefined();
  });
});

describe('occurredAt and clock skew', () => {
  it('is the reception time without timestamp', () => {
    expect(occurredAt(undefined, undefined, NOW)).toBe(NOW);
    expect(occurredAt(undefined, '2020-01-01T00:00:00Z', NOW)).toBe(NOW);
  });

  it('takes the timestamp as is without sentAt', () => {
    expect(occurredAt('2026-06-01T11:00:00.000Z', undefined, NOW)).toBe(NOW - 3600_000);
  });

  it('corrects a client clock that is two days ahead (Segment: receivedAt − (sentAt − timestamp))', () => {
    // The client thinks it is 2026-06-03; the event happened 30 s before it sent the batch.
    const at = occurredAt('2026-06-03T12:00:00.000Z', '2026-06-03T12:00:30.000Z', NOW);
    expect(at).toBe(NOW - 30_000);
  });

  it('keeps time zones', () => {
    expect(occurredAt('2026-06-01T14:00:00+02:00', undefined, NOW)).toBe(NOW);
  });

  it('reads an RFC 9557 zone suffix by its offset, as the schema allows it', () => {
    expect(occurredAt('2026-06-01T14:00:00+02:00[Europe/Paris]', undefined, NOW)).toBe(NOW);
    expect(occurredAt('2026-06-01T12:00:00Z[UTC]', '2026-06-01T12:00:00Z[u-ca=iso8601]', NOW)).toBe(NOW);
  });
});

describe('schema errors', () => {
  it('lists every bad property (TypeBox stopped at 8 raw errors: two of five), each once', () => {
    const properties = { a: null, b: null, c: null, d: null, e: null };
    const prepared = prepareInteraction({ ...base, properties }, ctx);
    expect(prepared.ok === false && prepared.errors).toEqual(
      Object.keys(properties).map((k) => ({
        path: `properties.${k}`,
        message: 'must be a string, a number or a boolean',
      })),
    );
  });

  it('gives a too-long string value its length error alone, not also the type list', () => {
    const prepared = prepareInteraction({ ...base, properties: { a: 'x'.repeat(1025) } }, ctx);
    expect(prepared.ok === false && prepared.errors).toEqual([
      { path: 'properties.a', message: 'must not have more than 1024 characters' },
    ]);
  });
});

describe('what the processor could not store, refused at the door', () => {
  // Each of these was answered 202 and then dead-lettered by the processor (or was a 500).
  it('refuses a NUL character in any stored text, naming the field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ userId: 'a\u0000b' }, 'userId'],
      [{ page: '/a\u0000' }, 'page'],
      [{ sessionId: 's\u0000' }, 'sessionId'],
      [{ userAgent: 'UA\u0000' }, 'userAgent'],
      [{ properties: { plan: 'p\u0000' } }, 'properties.plan'],
      [{ properties: { 'k\u0000': 'v' } }, 'properties.k\\0'],
    ];
    for (const [fields, path] of cases) {
      expect(prepareInteraction({ ...base, ...fields }, ctx), path).toEqual({
        ok: false,
        reason: 'schema',
        errors: [{ path, message: 'contains a NUL character (U+0000), which cannot be stored' }],
      });
    }
    expect(prepareIdentify({ userId: 'u', traits: { t: '\u0000' } }, ctx)).toMatchObject({
      ok: false,
      errors: [{ path: 'properties.t' }],
    });
    // The URL form of a NUL (%00) is text like any other.
    const encoded = prepareInteraction({ ...base, page: 'https://x.example/a%00b' }, ctx);
    expect(encoded.ok && encoded.record.page).toBe('/a%00b');
  });

  it('refuses an absolute URL whose path outgrows the page limit once percent-encoded', () => {
    const url = `https://x.example/${'é'.repeat(400)}`; // 418 characters sent, 2 401 stored
    expect(url.length).toBeLessThanOrEqual(LIMITS.page);
    expect(prepareInteraction({ ...base, page: url }, ctx)).toEqual({
      ok: false,
      reason: 'page',
      errors: [{ path: 'page', message: `is 2401 bytes in UTF-8 once normalised; at most ${LIMITS.page}` }],
    });
    const fits = prepareInteraction({ ...base, page: `https://x.example/${'é'.repeat(340)}` }, ctx);
    expect(fits.ok && fits.record.page.length).toBe(2041);
  });

  it('counts the page in UTF-8 bytes: PostgreSQL indexes it, and refused a 4 000-byte entry', () => {
    const emoji = `/${'😀'.repeat(1000)}`; // 2 001 UTF-16 units (under 2 048), 4 001 bytes
    expect(emoji.length).toBeLessThanOrEqual(LIMITS.page);
    expect(prepareInteraction({ ...base, page: emoji }, ctx)).toEqual({
      ok: false,
      reason: 'page',
      errors: [{ path: 'page', message: `is 4001 bytes in UTF-8 once normalised; at most ${LIMITS.page}` }],
    });
    const ascii = prepareInteraction({ ...base, page: `/${'a'.repeat(2047)}` }, ctx);
    expect(ascii.ok && ascii.record.page.length).toBe(2048);
    const accents = prepareInteraction({ ...base, page: `/${'é'.repeat(1023)}` }, ctx); // 2 047 bytes
    expect(accents.ok).toBe(true);
  });

  it('refuses an item nested thousands deep with a schema error instead of overflowing the stack', () => {
    let deep: unknown = [];
    for (let i = 0; i < 10_000; i += 1) deep = [deep];
    expect(prepareInteraction(deep, ctx)).toMatchObject({ ok: false, reason: 'schema' });
    let nested: unknown = 1;
    for (let i = 0; i < 10_000; i += 1) nested = { x: nested };
    expect(prepareInteraction({ ...base, properties: { a: nested } }, ctx)).toMatchObject({
      ok: false,
      reason: 'schema',
      errors: [{ path: 'properties.a' }],
    });
  });
});

describe('date-times the schema accepts but no instant fits', () => {
  // Both are valid RFC 3339 (TypeBox's date-time); Date.parse gives NaN, which Avro cannot encode:
  // before this check a batch holding one failed as a whole with a 500.
  it('refuses a leap second in timestamp or sentAt with the field and the reason', () => {
    const leap = '2026-12-31T23:59:60Z';
    for (const [field, path] of [
      ['timestamp', 'timestamp'],
      ['sentAt', 'sentAt'],
    ] as const) {
      const prepared = prepareInteraction({ ...base, timestamp: '2026-06-01T11:00:00Z', [field]: leap }, ctx);
      expect(prepared, field).toEqual({
        ok: false,
        reason: 'schema',
        errors: [{ path, message: 'is not a representable instant (a leap second, :60, has none)' }],
      });
    }
    expect(prepareIdentify({ userId: 'u', timestamp: leap }, ctx)).toMatchObject({
      ok: false,
      reason: 'schema',
      errors: [{ path: 'timestamp' }],
    });
    expect(prepareIdentify({ userId: 'u', sentAt: leap }, ctx)).toMatchObject({
      ok: false,
      errors: [{ path: 'sentAt' }],
    });
  });

  it('corrects an identify call for a wrong clock by its sentAt, as it does events', () => {
    // A browser whose clock says 1970: 100 ms between stamping the call and sending it.
    const identify = prepareIdentify(
      { userId: 'u', timestamp: '1970-01-01T00:10:00.000Z', sentAt: '1970-01-01T00:10:00.100Z' },
      ctx,
    );
    expect(identify.ok && identify.record.occurredAt).toBe(NOW - 100);
    // Without sentAt the same clock is refused, as for an event.
    expect(prepareIdentify({ userId: 'u', timestamp: '1970-01-01T00:10:00.000Z' }, ctx)).toMatchObject({
      ok: false,
      reason: 'past',
    });
  });

  it('refuses a date before 2000-01-01 (a reset clock) unless sentAt corrects it', () => {
    const epoch = { ...base, timestamp: '1970-01-01T00:00:10Z' };
    expect(prepareInteraction(epoch, ctx)).toEqual({
      ok: false,
      reason: 'past',
      errors: [
        {
          path: 'timestamp',
          message: 'is before 2000-01-01, the earliest date stored (a clock that was reset?)',
        },
      ],
    });
    // The same clock stamps sentAt 10 s later: the event happened 10 s before reception.
    const corrected = prepareInteraction({ ...epoch, sentAt: '1970-01-01T00:00:20Z' }, ctx);
    expect(corrected.ok && corrected.record.occurredAt).toBe(NOW - 10_000);
    const first = prepareInteraction({ ...base, timestamp: '2000-01-01T00:00:00Z' }, ctx);
    expect(first.ok && first.record.occurredAt).toBe(Date.UTC(2000, 0, 1));
    expect(prepareInteraction({ ...base, timestamp: '1999-12-31T23:59:59.999Z' }, ctx)).toMatchObject({
      ok: false,
      reason: 'past',
    });
    expect(prepareIdentify({ userId: 'u', timestamp: '1970-01-01T00:00:00Z' }, ctx)).toMatchObject({
      ok: false,
      reason: 'past',
      errors: [{ path: 'timestamp' }],
    });
  });

  it('keeps a client-chosen identify eventId (lower-cased), so a resent identify is stored once', () => {
    const id = '3F2504E0-4F89-41D3-9A0C-0305E82C3301';
    const prepared = prepareIdentify({ eventId: id, userId: 'u' }, ctx);
    expect(prepared.ok && prepared.record.eventId).toBe(id.toLowerCase());
    const generated = prepareIdentify({ userId: 'u' }, ctx);
    expect(generated.ok && generated.record.eventId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('accepts a zone suffix and stores the instant', () => {
    const prepared = prepareInteraction(
      { ...base, timestamp: '2026-06-01T13:00:00+01:00[Europe/London]' },
      ctx,
    );
    expect(prepared.ok && prepared.record.occurredAt).toBe(NOW);
    const identify = prepareIdentify({ userId: 'u', timestamp: '2026-06-01T12:00:00Z[UTC]' }, ctx);
    expect(identify.ok && identify.record.occurredAt).toBe(NOW);
  });
});

describe('prepareInteraction', () => {
  it('normalises a valid event and fills what the request tells', () => {
    const prepared = prepareInteraction(
      {
        ...base,
        role: 'admin',
        action: 'Click',
        page: 'https://a.example/p?q=1&utm_source=news#access_token=t',
        properties: { n: 1, ok: true, s: 'x' },
      },
      ctx,
    );
    expect(prepared.ok).toBe(true);
    if (!prepared.ok) return;
    expect(prepared.record).toMatchObject({
      type: 'TRACK',
      userId: 'u-1',
      role: 'ADMIN',
      action: 'click',
      page: '/p?utm_source=news', // only allowed parameters (default utm_*), never the fragment
      occurredAt: NOW,
      receivedAt: NOW,
      sessionId: null,
      properties: { n: 1, ok: true, s: 'x' },
      userAgent: ctx.userAgent,
      isBot: false,
    });
    expect(prepared.record.eventId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("keeps the query parameters INGEST_URL_QUERY_ALLOW names, and scrubs the snippet's referrer", () => {
    const prepared = prepareInteraction(
      {
        ...base,
        page: '/reset?token=abc&plan=pro',
        properties: { referrer: 'https://mail.example/open?token=abc#frag', hash: '#access_token=t' },
      },
      { ...ctx, keepParam: queryAllowList(['plan']) },
    );
    expect(prepared.ok && prepared.record.page).toBe('/reset?plan=pro');
    expect(prepared.ok && prepared.record.properties).toEqual({ referrer: 'https://mail.example/open' });
  });

  it('keeps the client eventId (lower-cased) so a resend is the same event', () => {
    const eventId = '0B6C6D2E-3A5E-4F2B-9A41-2F0D2B7C9E10';
    const prepared = prepareInteraction({ ...base, eventId }, ctx);
    expect(prepared.ok && prepared.record.eventId).toBe(eventId.toLowerCase());
  });

  it('lists every schema problem with its path', () => {
    const prepared = prepareInteraction(
      { userId: '', page: 5, role: 'root', properties: { nested: { a: 1 } }, extra: 1 },
      ctx,
    );
    expect(prepared.ok).toBe(false);
    if (prepared.ok) return;
    expect(prepared.reason).toBe('schema');
    expect(prepared.errors.map((e) => e.path).sort()).toEqual(
      ['action', 'extra', 'page', 'properties.nested', 'role', 'userId'].sort(),
    );
    expect(prepared.errors.find((e) => e.path === 'action')?.message).toBe('is required');
    expect(prepared.errors.find((e) => e.path === 'role')?.message).toBe(
      'must be ADMIN, USER or GUEST (any case)',
    );
    expect(prepared.errors.find((e) => e.path === 'properties.nested')?.message).toBe(
      'must be a string, a number or a boolean',
    );
  });

  it('refuses a non-object', () => {
    const prepared = prepareInteraction('hello', ctx);
    expect(prepared).toMatchObject({ ok: false, errors: [{ path: '', message: 'must be object' }] });
  });

  it('refuses more than 50 properties', () => {
    const properties = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]));
    const prepared = prepareInteraction({ ...base, properties }, ctx);
    expect(prepared.ok).toBe(false);
    expect(!prepared.ok && prepared.errors[0]?.path).toBe('properties');
  });

  it('refuses an action that is invalid after lower-casing, and a page that is not a path', () => {
    const prepared = prepareInteraction({ ...base, action: 'Add To Cart', page: 'cart' }, ctx);
    expect(prepared).toMatchObject({ ok: false });
    if (prepared.ok) return;
    expect(prepared.errors.map((e) => e.path)).toEqual(['action', 'page']);
  });

  it('refuses an event more than 24 h in the future, accepts one just under', () => {
    const tooLate = new Date(NOW + 24 * 3600_000 + 60_000).toISOString();
    const fine = new Date(NOW + 23 * 3600_000).toISOString();
    expect(prepareInteraction({ ...base, timestamp: tooLate }, ctx)).toMatchObject({
      ok: false,
      reason: 'future',
      errors: [{ path: 'timestamp', message: 'is more than 24 h in the future' }],
    });
    expect(prepareInteraction({ ...base, timestamp: fine }, ctx).ok).toBe(true);
  });

  it('judges the future after skew correction: a fast client clock is not refused', () => {
    const clientNow = NOW + 3 * 24 * 3600_000;
    const prepared = prepareInteraction(
      {
        ...base,
        timestamp: new Date(clientNow - 5000).toISOString(),
        sentAt: new Date(clientNow).toISOString(),
      },
      ctx,
    );
    expect(prepared.ok && prepared.record.occurredAt).toBe(NOW - 5000);
  });

  it('refuses an event larger than 32 KB serialized', () => {
    const properties = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'x'.repeat(1000)]));
    const prepared = prepareInteraction({ ...base, properties }, ctx);
    expect(prepared).toMatchObject({ ok: false, reason: 'too_large' });
    expect(prepareInteraction(base, ctx, LIMITS.eventBytes + 1)).toMatchObject({
      ok: false,
      reason: 'too_large',
    });
    expect(prepareInteraction(base, ctx, LIMITS.eventBytes).ok).toBe(true);
  });

  it('counts the exact size when the cheap bound is over the limit: 31 KB of ASCII passes, 33 KB does not', () => {
    const props = (n: number) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'x'.repeat(1000)]),
      );
    const under = { ...base, properties: props(31) };
    expect(jsonBytesBound(under)).toBeGreaterThan(LIMITS.eventBytes);
    expect(jsonBytes(under)).toBeLessThanOrEqual(LIMITS.eventBytes);
    expect(prepareInteraction(under, ctx).ok).toBe(true);
    const over = { ...base, properties: props(33) };
    expect(prepareInteraction(over, ctx)).toMatchObject({
      ok: false,
      reason: 'too_large',
      errors: [
        { path: '', message: `is ${jsonBytes(over)} bytes; one event may have at most ${LIMITS.eventBytes}` },
      ],
    });
  });

  it('bounds the JSON size from above for every kind of value events are made of', () => {
    const values: unknown[] = [
      base,
      { ...base, properties: { a: 'é', b: '🙂', c: '"\\', d: '\u0001\n\t', e: '\ud800' } },
      { n: [0, -0, 1e21, -1.7976931348623157e308, 5e-324, 0.1 + 0.2, Number.NaN, Number.POSITIVE_INFINITY] },
      { t: true, f: false, z: null, empty: '', arr: [], obj: {} },
      { 'key "quoted" é': { nested: ['x', 1, null] } },
      '',
      'x'.repeat(5000),
    ];
    for (const v of values) {
      expect(jsonBytesBound(v), JSON.stringify(v)).toBeGreaterThanOrEqual(jsonBytes(v));
    }
    // Deeper than events nest: no bound, the exact count is taken.
    expect(jsonBytesBound({ a: { b: { c: { d: 1 } } } })).toBeUndefined();
    expect(jsonBytesBound(undefined)).toBeUndefined();
  });

  it('refuses a timestamp without a time zone', () => {
    expect(prepareInteraction({ ...base, timestamp: '2026-06-01T10:00:00' }, ctx)).toMatchObject({
      ok: false,
      errors: [{ path: 'timestamp', message: 'must be an ISO-8601 date-time' }],
    });
  });
});

describe('user agent and bot flag', () => {
  it('prefers the event’s own user agent over the request header', () => {
    expect(agentOf('Googlebot/2.1 (+http://www.google.com/bot.html)', ctx)).toEqual({
      userAgent: 'Googlebot/2.1 (+http://www.google.com/bot.html)',
      isBot: true,
    });
    expect(agentOf(undefined, ctx)).toEqual({ userAgent: ctx.userAgent, isBot: false });
  });

  it.each([
    'curl/8.5.0',
    'Wget/1.21.4',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
    'python-requests/2.32.3',
    'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  ])('flags %s as a bot', (ua) => {
    expect(agentOf(ua, ctx).isBot).toBe(true);
  });

  it('gives the same verdict from the memo, also after it filled up and started over', () => {
    const bot = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
    const human =
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
    expect([isBotAgent(bot), isBotAgent(human)]).toEqual([true, false]);
    for (let i = 0; i <= BOT_MEMO_SIZE; i++) isBotAgent(`agent-${i}/1.0 (x)`);
    expect([isBotAgent(bot), isBotAgent(human), isBotAgent(bot), isBotAgent(human)]).toEqual([
      true,
      false,
      true,
      false,
    ]);
    // The same agent twice in a row (the one-entry cache before the memo), and the empty agent.
    expect([isBotAgent(bot), isBotAgent(bot), isBotAgent(''), isBotAgent(''), isBotAgent(bot)]).toEqual([
      true,
      true,
      false,
      false,
      true,
    ]);
  });

  it('has no user agent and no bot flag when nothing tells', () => {
    expect(agentOf(undefined, { receivedAt: NOW, userAgent: undefined })).toEqual({
      userAgent: null,
      isBot: false,
    });
  });

  it('truncates an over-long header to the stored limit', () => {
    const long = `Mozilla/5.0 ${'x'.repeat(2000)}`;
    expect(agentOf(undefined, { receivedAt: NOW, userAgent: long }).userAgent).toHaveLength(LIMITS.userAgent);
  });
});

describe('prepareIdentify', () => {
  it('makes an IDENTIFY record with the traits as properties', () => {
    const prepared = prepareIdentify({ userId: 'u-9', role: 'user', traits: { plan: 'pro' } }, ctx);
    expect(prepared.ok && prepared.record).toMatchObject({
      type: 'IDENTIFY',
      userId: 'u-9',
      role: 'USER',
      action: 'identify',
      page: '',
      occurredAt: NOW,
      properties: { plan: 'pro' },
    });
  });

  it('refuses an identify call more than 24 h in the future', () => {
    const timestamp = new Date(NOW + 25 * 3600_000).toISOString();
    expect(prepareIdentify({ userId: 'u', timestamp }, ctx)).toMatchObject({ ok: false, reason: 'future' });
  });
});
