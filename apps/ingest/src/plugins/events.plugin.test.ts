import { HttpError } from '@tracker/http';
import {
  type BatchingProducer,
  BrokerUnavailableError,
  type InteractionSerde,
  ProducerBusyError,
} from '@tracker/kafka';
import type { InteractionRecord } from '@tracker/schemas';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createIngestMetrics } from '../metrics.js';
import { EventSink } from './events.plugin.js';

const record = { userId: 'u1', action: 'click' } as unknown as InteractionRecord;
const serde = { encodeSync: () => Buffer.from('avro') } as unknown as InteractionSerde;

/** An EventSink whose producer's send fails with `error` (the broker boundary faked). */
function sinkFailingWith(error: Error) {
  const producer = { healthy: true, send: async () => Promise.reject(error) } as unknown as BatchingProducer;
  const registry = new Registry();
  const metrics = createIngestMetrics(registry, () => true);
  return { sink: new EventSink(serde, producer, producer, metrics, 7), registry };
}

async function counter(registry: Registry, name: string): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
}

describe('EventSink.publish', () => {
  it('answers a full producer queue with 503 INGEST_BUSY and Retry-After, counted as busy', async () => {
    const { sink, registry } = sinkFailingWith(new ProducerBusyError('100 bytes already wait'));
    const error = await sink.publish([record, record], 'events').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ statusCode: 503, code: 'INGEST_BUSY', headers: { 'retry-after': '7' } });
    expect((error as HttpError).message).toContain('none of these was written');
    expect(await counter(registry, 'ingest_events_busy_total')).toBe(2);
    expect(await counter(registry, 'ingest_events_unavailable_total')).toBe(0);
  });

  it('answers a broker that did not acknowledge with 503 BROKER_UNAVAILABLE', async () => {
    const { sink, registry } = sinkFailingWith(new BrokerUnavailableError('no acknowledgement'));
    const error = await sink.publish([record], 'events').catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 503, code: 'BROKER_UNAVAILABLE' });
    expect(await counter(registry, 'ingest_events_unavailable_total')).toBe(1);
  });
});
