import { HttpError } from '@tracker/http';
import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { EventRate } from './event-rate.js';

const request = (ip: string) => ({ apiKey: 'k'.repeat(20), ip }) as unknown as FastifyRequest;
const unavailable = () => Promise.reject(new HttpError(503, 'INGEST_BUSY', 'full'));

describe('EventRate', () => {
  it('gives the budget back when the events were refused with 503, not when they were taken', async () => {
    const rate = new EventRate({ max: 10, windowMs: 60_000, bucket: 'key+address', setting: 'X' });
    const a = request('10.0.0.1');
    rate.take(a, 10);
    expect(() => rate.take(a, 1)).toThrow(/at most 10 events per 60 s \(X\); 0 are left/);
    await expect(rate.refundingUnavailable(a, 4, unavailable)).rejects.toMatchObject({ statusCode: 503 });
    rate.take(a, 4); // the 4 refused are usable again
    expect(() => rate.take(a, 1)).toThrow(HttpError);
    // Taken in (or refused for another reason): the budget stays spent.
    const b = request('10.0.0.2');
    rate.take(b, 10);
    await rate.refundingUnavailable(b, 10, () => Promise.resolve());
    await expect(
      rate.refundingUnavailable(b, 10, () => Promise.reject(new HttpError(400, 'VALIDATION_FAILED', 'bad'))),
    ).rejects.toMatchObject({ statusCode: 400 });
    expect(() => rate.take(b, 1)).toThrow(HttpError);
  });
});
