import { describe, expect, it } from 'vitest';
import { type CpuProfile, packageOf, summarize } from './profile-summary.js';

const frame = (functionName: string, url = '') => ({ functionName, url });
const KAFKAJS = 'file:///r/node_modules/.pnpm/kafkajs@2.2.4/node_modules/kafkajs/src/producer/index.js';

/** root → app handler → kafkajs send → native writeBuffer; plus idle and GC beside them. */
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 5, 6, 7] },
    {
      id: 2,
      callFrame: frame('handler', 'file:///r/apps/ingest/dist/routes/events.route.js'),
      children: [3],
    },
    { id: 3, callFrame: frame('send', KAFKAJS), children: [4] },
    { id: 4, callFrame: frame('writeBuffer') },
    { id: 5, callFrame: frame('(idle)') },
    { id: 6, callFrame: frame('(garbage collector)') },
    { id: 7, callFrame: frame('onStreamRead', 'node:internal/stream_base_commons') },
  ],
  // timeDeltas[i]: from sample i-1 to sample i, so each sample is credited with the next delta.
  samples: [2, 3, 4, 4, 5, 5, 5, 5, 6, 7, 5],
  timeDeltas: [5, 10, 10, 10, 10, 100, 100, 100, 100, 20, 30],
};

describe('profile summary', () => {
  it('gives native and Node frames to the nearest caller in a package, and leaves idle out', () => {
    const s = summarize(profile);
    expect(s.totalUs).toBe(490);
    expect(s.busyUs).toBe(90);
    expect(s.owners.map((o) => [o.owner, o.us])).toEqual([
      ['kafkajs', 30],
      ['node internals (HTTP, streams, timers)', 30],
      ['(garbage collector)', 20],
      ['apps/ingest', 10],
    ]);
    expect(s.owners[0]!.share).toBeCloseTo(30 / 90, 12);
  });

  it('names npm packages (scoped, pnpm layout) and workspace packages', () => {
    expect(packageOf(KAFKAJS)).toBe('kafkajs');
    expect(
      packageOf('file:///r/node_modules/.pnpm/@prisma+client@7.1.0/node_modules/@prisma/client/x.js'),
    ).toBe('@prisma/client');
    expect(packageOf('file:///r/packages/db/dist/stats/users.js')).toBe('packages/db');
    expect(packageOf('node:internal/http')).toBeNull();
  });
});
