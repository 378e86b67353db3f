import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { InteractionRecordSchema, LIMITS, PropertiesSchema } from './index.js';

describe('PropertiesSchema', () => {
  const check = Compile(PropertiesSchema);

  it('limits key length (a Record key schema alone does not: it only picks the pattern)', () => {
    expect(check.Check({ ['k'.repeat(LIMITS.propertyKey)]: 'v' })).toBe(true);
    expect(check.Check({ ['k'.repeat(LIMITS.propertyKey + 1)]: 'v' })).toBe(false);
    expect(check.Check({ '': 'v' })).toBe(false);
  });

  it('keeps the other limits: key count, value length, flat values', () => {
    const many = Object.fromEntries(Array.from({ length: LIMITS.propertyKeys + 1 }, (_, i) => [`k${i}`, i]));
    expect(check.Check(many)).toBe(false);
    expect(check.Check({ note: 'v'.repeat(LIMITS.propertyValue + 1) })).toBe(false);
    expect(check.Check({ nested: { a: 1 } })).toBe(false);
    expect(check.Check({ plan: 'pro', seats: 3, trial: false })).toBe(true);
  });

  it('applies inside the record the processor validates', () => {
    const record = Compile(InteractionRecordSchema);
    const base = {
      eventId: '0b7f8a3c-1d2e-4f50-8a6b-9c0d1e2f3a4b',
      type: 'TRACK',
      userId: 'u',
      role: 'USER',
      action: 'click',
      page: '/',
      occurredAt: 0,
      receivedAt: 0,
      sessionId: null,
      userAgent: null,
      isBot: false,
    };
    expect(record.Check({ ...base, properties: { ok: 'v' } })).toBe(true);
    expect(record.Check({ ...base, properties: { ['k'.repeat(200)]: 'v' } })).toBe(false);
  });
});
