import { describe, expect, it } from 'vitest';
import { LAG_REPLICA_MS, parseLag } from './lag.js';

const at = '2026-06-01T12:00:00.000Z';
const fresh = { consumerLag: 0, lastBatchAt: at, newestEventAgeMs: 1000, at };

describe('parseLag', () => {
  it('is quiet when nothing waits and there is no replica', () => {
    expect(parseLag({ ...fresh, replicaDelayMs: null })).toMatchObject({
      lagging: false,
      replicaDelayMs: null,
    });
  });

  it('shows a read replica well behind its primary even when nothing waits to be stored', () => {
    expect(parseLag({ ...fresh, replicaDelayMs: LAG_REPLICA_MS - 1 })?.lagging).toBe(false);
    expect(parseLag({ ...fresh, replicaDelayMs: LAG_REPLICA_MS })).toMatchObject({
      lagging: true,
      replicaDelayMs: LAG_REPLICA_MS,
    });
  });

  it('passes on since when raw rows are kept, and nothing for a missing or bad value', () => {
    expect(parseLag({ ...fresh, rawRowsFrom: '2026-05-18T00:00:00.000Z' })?.rawRowsFrom).toBe(
      '2026-05-18T00:00:00.000Z',
    );
    expect(parseLag({ ...fresh, rawRowsFrom: null })?.rawRowsFrom).toBeNull();
    expect(parseLag({ ...fresh, rawRowsFrom: 'yesterday' })?.rawRowsFrom).toBeNull();
    expect(parseLag(fresh)?.rawRowsFrom).toBeNull();
  });

  it('still shows a large backlog, and ignores payloads that are not lag events', () => {
    expect(parseLag({ ...fresh, consumerLag: 5000 })?.lagging).toBe(true);
    expect(parseLag('nope')).toBeNull();
  });
});
