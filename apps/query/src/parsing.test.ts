import { describe, expect, it } from 'vitest';
import { neutralizeFormula } from './csv.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { filtersKey, matches, toFilters } from './filters.js';
import { decodeDlqMessage } from './services/dlq.service.js';

const ID = '0b6c6d2e-3a5e-4f2b-9a41-2f0d2b7c9e10';

describe('cursors', () => {
  it('round-trip a position, a direction and the filters they belong to', () => {
    const fp = filtersKey({ userId: 'a' });
    for (const direction of ['next', 'prev'] as const) {
      const cursor = {
        direction,
        occurredAt: new Date('2026-01-02T03:04:05.678Z'),
        eventId: ID,
        filters: fp,
      };
      const token = encodeCursor(cursor);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeCursor(token, fp)).toEqual(cursor);
    }
  });

  it('refuses anything else with a 400 at querystring.cursor', () => {
    const fp = filtersKey({});
    const bad = [
      '',
      'a b',
      Buffer.from(`c1.n.1.${ID}`).toString('base64url'),
      Buffer.from(`c1.n.1.${ID}.${fp}.extra`).toString('base64url'),
      Buffer.from(`c1.n.1e3.${ID}.${fp}`).toString('base64url'),
      Buffer.from(`c1.n.-99999999999999.${ID}.${fp}`).toString('base64url'),
      Buffer.from(`c1.n.1.${ID.toUpperCase()}.${fp}`).toString('base64url'),
      Buffer.from(`c1.p.1.${ID}.${filtersKey({ role: 'ADMIN' })}`).toString('base64url'),
    ];
    for (const token of bad) {
      expect(() => decodeCursor(token, fp), token).toThrow(
        expect.objectContaining({
          statusCode: 400,
          details: [expect.objectContaining({ path: 'querystring.cursor' })],
        }),
      );
    }
  });
});

describe('filters', () => {
  it('normalise case, read prefixes and refuse an empty or reversed range', () => {
    expect(toFilters({ role: 'admin', action: 'Click', page: '/docs/*' })).toEqual({
      role: 'ADMIN',
      action: 'click',
      page: '/docs/*',
    });
    expect(() => toFilters({ from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' })).toThrow(
      expect.objectContaining({ details: [{ path: 'querystring.to', message: 'must be after from' }] }),
    );
  });

  it('move a bound between two milliseconds up to the next one (times are stored in ms)', () => {
    // A row at …59.999 is before from=…59.9991 (excluded); one at 12:00:00.000 is before to=….0005.
    expect(toFilters({ from: '2026-11-25T11:59:59.9991Z', to: '2026-11-25T12:00:00.0005Z' })).toEqual({
      from: new Date('2026-11-25T12:00:00.000Z'),
      to: new Date('2026-11-25T12:00:00.001Z'),
    });
    expect(() =>
      toFilters({ from: '2026-11-25T11:59:59.999Z', to: '2026-11-25T11:59:59.9995Z' }),
    ).not.toThrow();
    expect(
      toFilters({ from: '2026-11-25T11:59:59.9990000Z', to: '2026-11-25T17:30:00.123456+05:30' }),
    ).toEqual({
      from: new Date('2026-11-25T11:59:59.999Z'),
      to: new Date('2026-11-25T12:00:00.124Z'),
    });
  });

  it('read a long fraction with a leading zero as it is written (V8 alone reads .0816179592 as .816)', () => {
    expect(toFilters({ from: '2026-04-04T03:04:22.0816179592-05:30' })).toEqual({
      from: new Date('2026-04-04T08:34:22.082Z'), // .0816… moved up to the next millisecond
    });
  });

  it('refuse a bound before the year 1 with a 400 (PostgreSQL could not read it: a 500)', () => {
    for (const from of ['0000-01-01T00:00:00Z', '0001-01-01T00:30:00+01:00']) {
      expect(() => toFilters({ from }), from).toThrow(
        expect.objectContaining({
          statusCode: 400,
          details: [{ path: 'querystring.from', message: 'is before the year 1 (no event can be that old)' }],
        }),
      );
    }
    expect(toFilters({ to: '0001-01-01T00:00:00Z' }).to).toEqual(new Date('0001-01-01T00:00:00Z'));
  });

  it('match rows in JS exactly as the SQL does', () => {
    const row = { userId: 'u', role: 'USER', action: 'click', page: '/docs/a', occurredAt: new Date(1000) };
    expect(matches(row, { page: '/docs/*' })).toBe(true);
    expect(matches(row, { page: '/docs' })).toBe(false);
    expect(matches(row, { page: '/docs/a' })).toBe(true);
    expect(matches(row, { from: new Date(1000), to: new Date(1001) })).toBe(true);
    expect(matches(row, { to: new Date(1000) })).toBe(false);
    expect(matches(row, { role: 'ADMIN' })).toBe(false);
    expect(matches(row, { userId: 'u', action: 'click' })).toBe(true);
  });

  it('fingerprint filter sets stably', () => {
    expect(filtersKey({ userId: 'a', from: new Date(5) })).toBe(
      filtersKey({ from: new Date(5), userId: 'a' }),
    );
    expect(filtersKey({ userId: 'a' })).not.toBe(filtersKey({ action: 'a' }));
  });
});

describe('CSV formula protection', () => {
  it('prefixes cells a spreadsheet would run', () => {
    expect(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'].map(neutralizeFormula)).toEqual([
      "'=1+1",
      "'+1",
      "'-1",
      "'@SUM(A1)",
      "'\tx",
      "'\rx",
    ]);
    expect(['/docs', 'a=b', '', 'x-1'].map(neutralizeFormula)).toEqual(['/docs', 'a=b', '', 'x-1']);
  });
});

describe('dead-letter messages', () => {
  it('decode headers and preview text or binary values', () => {
    const text = decodeDlqMessage(0, {
      key: null,
      value: Buffer.from('héllo'),
      timestamp: '0',
      attributes: 0,
      offset: '5',
      headers: { 'dlq-reason': Buffer.from('bad'), 'dlq-source-partition': 'x' },
    });
    expect(text).toMatchObject({
      reason: 'bad',
      step: null,
      source: { topic: null, partition: null, offset: null },
      value: { bytes: 6, encoding: 'utf8', preview: 'héllo', schemaId: null },
    });
    const binary = decodeDlqMessage(1, {
      key: Buffer.from('k'),
      value: Buffer.from([0xff, 0xfe, 0x00]),
      timestamp: '0',
      attributes: 0,
      offset: '6',
      headers: {},
    });
    expect(binary.value).toEqual({ bytes: 3, encoding: 'base64', preview: '//4A', schemaId: null });
  });
});
