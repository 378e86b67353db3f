import { buildInteraction } from '@tracker/test-utils';
import { describe, expect, it } from 'vitest';
import { recordProblem } from './decode.js';

const T = Date.UTC(2026, 5, 1, 12);
const ok = buildInteraction({ occurredAt: T, receivedAt: T });

describe('recordProblem: what the processor dead-letters that ingest would have refused', () => {
  it('passes what ingest produces', () => {
    expect(recordProblem(ok)).toBeNull();
    expect(recordProblem({ ...ok, type: 'IDENTIFY', action: 'identify', page: '' })).toBeNull();
    expect(recordProblem({ ...ok, occurredAt: T + 23 * 3600_000 })).toBeNull(); // a fast client clock
  });

  it.each([
    ['an occurredAt before 2000', { occurredAt: Date.UTC(1999, 11, 31) }, '/occurredAt is before 2000-01-01'],
    [
      'a date in 9999',
      { occurredAt: Date.UTC(9999, 11, 31) },
      '/occurredAt is more than 24 h after receivedAt',
    ],
    ['an empty sessionId', { sessionId: '' }, '/sessionId'],
    ['a 100 000-character userAgent', { userAgent: 'x'.repeat(100_000) }, '/userAgent'],
    ['a page that is not a path', { page: 'relative/page' }, '/page'],
    ['a page over 2 048 bytes of UTF-8', { page: `/${'😀'.repeat(1000)}` }, '/page is 4001 bytes in UTF-8'],
    ['a NUL character', { userId: 'a\u0000b' }, '/userId contains a NUL character'],
  ])('refuses %s', (_name, change, reason) => {
    expect(recordProblem({ ...ok, ...change })).toContain(reason);
  });
});
