import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { JavaCompatiblePartitioner, murmur2 } from './partitioner.js';

// kafkajs' own implementation, the reference our partitions must agree with.
const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: Buffer,
) => number;
const { Partitioners } = require('kafkajs') as typeof import('kafkajs');

const keys = (): Buffer[] => {
  const out: Buffer[] = [
    Buffer.alloc(0),
    Buffer.from('a'),
    Buffer.from('user-00042'),
    Buffer.from('anon-🙂-ü'),
  ];
  let seed = 42;
  const next = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) | 0;
    return seed >>> 16;
  };
  for (let i = 0; i < 3000; i++) {
    const bytes = Buffer.alloc(next() % 70);
    for (let j = 0; j < bytes.length; j++) bytes[j] = next() & 0xff;
    out.push(bytes);
  }
  return out;
};

describe('murmur2', () => {
  it('is the same hash as kafkajs (and so the Java client) for any bytes and length', () => {
    for (const key of keys()) expect(murmur2(key)).toBe(kafkajsMurmur2(key));
  });

  it('matches known values of the Java client', () => {
    // org.apache.kafka.common.utils.Utils.murmur2("21".getBytes()) etc., from Kafka's UtilsTest.
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from([97, 98, 99]))).toBe(479470107);
  });
});

describe('JavaCompatiblePartitioner', () => {
  const partitionMetadata = Array.from({ length: 12 }, (_, i) => ({
    partitionId: i,
    leader: i === 5 ? -1 : 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));

  it('sends every key to the partition kafkajs’ default partitioner picks', () => {
    const ours = JavaCompatiblePartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (const key of keys()) {
      for (const k of [key, key.toString('latin1')]) {
        const message = { key: k, value: null };
        expect(ours({ topic: 't', partitionMetadata, message })).toBe(
          theirs({ topic: 't', partitionMetadata, message }),
        );
      }
    }
  });

  it('keeps an explicit partition and spreads keyless messages over partitions with a leader', () => {
    const p = JavaCompatiblePartitioner();
    expect(p({ topic: 't', partitionMetadata, message: { key: 'x', value: null, partition: 7 } })).toBe(7);
    const seen = new Set<number>();
    for (let i = 0; i < 100; i++) seen.add(p({ topic: 't', partitionMetadata, message: { value: null } }));
    expect(seen.size).toBe(11);
    expect(seen.has(5)).toBe(false);
  });
});
