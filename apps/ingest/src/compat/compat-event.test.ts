import { randomUUID } from 'node:crypto';
import { LIMITS } from '@tracker/schemas';
import { describe, expect, it } from 'vitest';
import { jsonBytes, type RequestContext } from '../normalize.js';
import { type CompatEvent, prepareCompat } from './compat-event.js';

const ctx: RequestContext = { receivedAt: Date.parse('2026-12-07T00:00:00Z'), userAgent: 'node' };

const event = (kind: CompatEvent['kind'], properties: Record<string, unknown>): CompatEvent => ({
  kind,
  eventId: randomUUID(),
  userId: 'u-1',
  ...(kind === 'track' ? { action: 'order_completed' } : {}),
  sources: [{ prefix: '', value: properties }],
});

/** `n` properties of `chars` characters each (3 bytes each in UTF-8 when `wide`). */
const many = (n: number, chars: number, wide = false) =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => [`p${i}`, (wide ? '価' : 'x').repeat(chars - 1) + i]),
  );

describe('prepareCompat on messages too large once flattened', () => {
  it('keeps a track whose 40 long properties exceed one event, dropping the largest and saying so', () => {
    const { prepared, dropped } = prepareCompat(event('track', many(40, 1000)), ctx);
    expect(prepared.ok).toBe(true);
    if (!prepared.ok) return;
    const kept = Object.keys(prepared.record.properties);
    const cut = dropped.filter((d) => d.message.includes(`over ${LIMITS.eventBytes} bytes`));
    expect(cut.length).toBeGreaterThan(0);
    expect(kept.length + cut.length).toBe(40);
    expect(cut.every((d) => !kept.includes(d.path.replace('properties.', '')))).toBe(true);
    expect(jsonBytes(prepared.record.properties)).toBeLessThanOrEqual(LIMITS.eventBytes);
  });

  it('holds an identify to the same size, wide characters included', () => {
    const { prepared, dropped } = prepareCompat(event('identify', many(50, 1024, true)), ctx);
    expect(prepared.ok).toBe(true);
    if (!prepared.ok) return;
    expect(jsonBytes(prepared.record.properties)).toBeLessThanOrEqual(LIMITS.eventBytes);
    expect(dropped.some((d) => d.path.startsWith('traits.'))).toBe(true);
  });

  it('leaves a message that fits alone', () => {
    const { prepared, dropped } = prepareCompat(event('track', many(5, 100)), ctx);
    expect(prepared.ok).toBe(true);
    expect(dropped).toEqual([]);
  });
});
