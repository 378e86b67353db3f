/**
 * The events the benchmarks send: the seed's traffic model (realistic users, pages, actions and
 * properties), as clients send them (HTTP bodies) and as ingest turns them into records (the same
 * normalisation code), Avro-encoded for the broker-side baselines.
 */
import { prepareInteraction } from '@tracker/ingest/normalize';
import type { InteractionSerde } from '@tracker/kafka';
import type { InteractionInput, InteractionRecord } from '@tracker/schemas';
import { TrafficModel } from './seed-model.js';

/** `count` interactions over the last 28 days, deterministic for a seed; no eventId (ingest makes one). */
export function sampleEvents(
  count: number,
  seed = 9,
  users = Math.min(5000, Math.max(20, count / 20)),
): InteractionInput[] {
  const model = new TrafficModel({
    count,
    users: Math.round(users),
    days: 28,
    end: Date.now() - 60_000,
    seed,
    identifyShare: 0,
  });
  const out: InteractionInput[] = [];
  for (const event of model.events()) {
    const { eventId: _id, ...rest } = event;
    out.push(rest);
  }
  return out;
}

/** Splits events into batches of `size` (the last one may be shorter). */
export function batches<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** What ingest would produce for these events (its own validation and normalisation), fresh eventIds. */
export function toRecords(events: InteractionInput[], receivedAt = Date.now()): InteractionRecord[] {
  return events.map((event, i) => {
    const prepared = prepareInteraction(event, {
      receivedAt,
      userAgent: 'autocannon',
    });
    if (!prepared.ok) {
      throw new Error(
        `event ${i} of the traffic model is refused by ingest: ${JSON.stringify(prepared.errors)}`,
      );
    }
    return prepared.record;
  });
}

/** Kafka messages as ingest produces them: key userId, value Confluent-framed Avro. */
export function toMessages(
  serde: InteractionSerde,
  records: InteractionRecord[],
): { key: string; value: Buffer }[] {
  return records.map((r) => ({ key: r.userId, value: serde.encodeSync(r) }));
}
