import { describe, expect, it } from 'vitest';
import { PendingCommits } from './pending-commits.js';

describe('PendingCommits', () => {
  it('keeps the newest failed offset per partition until a commit at or past it succeeds', () => {
    const p = new PendingCommits();
    p.failed({ topic: 't', partition: 0, offset: '100' });
    p.failed({ topic: 't', partition: 0, offset: '90' });
    p.failed({ topic: 't', partition: 1, offset: '5' });
    p.committed({ topic: 't', partition: 1, offset: '4' });
    expect(p.size).toBe(2);
    p.committed({ topic: 't', partition: 1, offset: '5' });
    expect(p.takeFor({ t: [0, 1] })).toEqual([{ topic: 't', partition: 0, offset: '100' }]);
    expect(p.size).toBe(0);
  });

  it('retries only the partitions the consumer still owns after joining, and forgets the rest', () => {
    const p = new PendingCommits();
    p.failed({ topic: 't', partition: 0, offset: '10' });
    p.failed({ topic: 't', partition: 3, offset: '30' });
    p.failed({ topic: 'u', partition: 0, offset: '7' });
    expect(p.takeFor({ t: [3], u: [1] })).toEqual([{ topic: 't', partition: 3, offset: '30' }]);
    expect(p.takeFor({ t: [0, 3], u: [0] })).toEqual([]);
  });

  it('compares offsets as integers beyond 2^53', () => {
    const p = new PendingCommits();
    p.failed({ topic: 't', partition: 0, offset: '9007199254740993' });
    p.failed({ topic: 't', partition: 0, offset: '9007199254740992' });
    expect(p.takeFor({ t: [0] })[0]!.offset).toBe('9007199254740993');
  });
});
