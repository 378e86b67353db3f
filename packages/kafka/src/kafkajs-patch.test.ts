import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// patches/kafkajs@2.2.4.patch (pnpm patchedDependencies): (1) kafkajs grouped a send's messages per
// partition by copying the partition's array for every message, quadratic in the batch size; ingest
// sends batches of up to 2 000 messages (bench: ingest_batch profile, ~7% of ingest's CPU). (2) Its
// request queue scheduled a timer with a negative delay on every connection, which Node 24 reports
// as a TimeoutNegativeWarning on every service's stderr (kafkajs issue #1751).
const require = createRequire(import.meta.url);
const modulePath = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
const group = require(modulePath) as (args: {
  topic: string;
  partitionMetadata: unknown[];
  messages: { key: string }[];
  partitioner: (args: { message: { key: string } }) => number;
}) => Record<number, { key: string }[]>;

const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (options: {
  maxInFlightRequests: number;
  requestTimeout: number;
  enforceRequestTimeout: boolean;
  clientId: string;
  broker: string;
  logger: unknown;
}) => { scheduleCheckPendingRequests(): void; destroy(): void };

describe('kafkajs patch: request queue timers', () => {
  it('schedules its first pending-requests check without a negative delay (no TimeoutNegativeWarning)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const queue = new RequestQueue({
        maxInFlightRequests: 1,
        requestTimeout: 1000,
        enforceRequestTimeout: true,
        clientId: 'test',
        broker: 'localhost:9092',
        logger: { debug() {}, info() {}, warn() {}, error() {} },
      });
      queue.scheduleCheckPendingRequests();
      await new Promise((r) => setTimeout(r, 20));
      queue.destroy();
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.startsWith('TimeoutNegativeWarning'))).toEqual([]);
  });
});

describe('kafkajs patch: groupMessagesPerPartition', () => {
  it('is the patched one-pass version (pnpm install applied patches/)', () => {
    expect(readFileSync(modulePath, 'utf8')).toContain('Patched (tracker)');
  });

  it('groups every message under its partition, in the order sent', () => {
    const messages = Array.from({ length: 5000 }, (_, i) => ({ key: `u${i % 97}` }));
    const partitioner = ({ message }: { message: { key: string } }) => Number(message.key.slice(1)) % 12;
    const out = group({ topic: 't', partitionMetadata: [{}], messages, partitioner });
    const expected: Record<number, { key: string }[]> = {};
    for (const m of messages) {
      const p = partitioner({ message: m });
      expected[p] = [...(expected[p] ?? []), m];
    }
    expect(out).toEqual(expected);
    expect(Object.values(out).reduce((n, ms) => n + ms.length, 0)).toBe(messages.length);
    expect(group({ topic: 't', partitionMetadata: [], messages, partitioner })).toEqual({});
  });
});
