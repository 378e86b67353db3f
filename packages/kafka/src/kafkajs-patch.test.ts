import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// patches/kafkajs@2.2.4.patch (pnpm patchedDependencies): kafkajs grouped a send's messages per
// partition by copying the partition's array for every message, quadratic in the batch size; ingest
// sends batches of up to 2 000 messages (bench: ingest_batch profile, ~7% of ingest's CPU).
const require = createRequire(import.meta.url);
const modulePath = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
const group = require(modulePath) as (args: {
  topic: string;
  partitionMetadata: unknown[];
  messages: { key: string }[];
  partitioner: (args: { message: { key: string } }) => number;
}) => Record<number, { key: string }[]>;

describe('kafkajs patch: groupMessagesPerPartition', () => {
  it('is the patched one-pass version (pnpm install applied patches/)', () => {
    expect(readFileSync(modulePath, 'utf8')).toContain('Patched (tracker)');
  });

  it('groups every message under its partition, in the order sent', () => {
    const messages = Array.from({ length: 5000 }, (_, i) => ({ key: `u${i % 97}` }));
    const partitioner = ({ message }: { message: { key: string } }) => Number(message.key.slice(1)) % 12;
    const out = group({ topic: 't', partitionMetadata: [{}], messages, partitioner });
    const expected: Record<number, { key: string }[]> = {};
    for (const m of messages) (expected[partitioner({ message: m })] ??= []).push(m);
    expect(out).toEqual(expected);
    expect(Object.values(out).reduce((n, ms) => n + ms.length, 0)).toBe(messages.length);
    expect(group({ topic: 't', partitionMetadata: [], messages, partitioner })).toEqual({});
  });
});
