import {
  type ApiHitDelta,
  type IdentifyRow,
  type InteractionRow,
  toIdentifyRow,
  toInteractionRow,
} from '@tracker/db';
import { type InteractionRecord, ROLE_UNSET_HEADER } from '@tracker/schemas';
import type { KafkaMessage } from 'kafkajs';
import type { DecodedApiHits, DecodedInteraction } from './decode.js';
import { type Poison, poison } from './poison.js';

/** A row to store and the message it came from (dead-lettered if the database refuses the row). */
export type StoreItem =
  | { kind: 'track'; row: InteractionRow; message: KafkaMessage }
  | { kind: 'identify'; row: IdentifyRow; message: KafkaMessage }
  | { kind: 'apiHits'; row: ApiHitDelta; message: KafkaMessage };

export interface BatchPlan {
  items: StoreItem[];
  poison: Poison[];
  /** Messages dropped because an earlier message of the same batch had the same id. */
  duplicatesInBatch: number;
  /** interactionColumns(trackRows(items)): built ahead of the transaction. */
  trackColumns?: string[];
}

/** The rows of the track items, in the items' order. */
export function trackRows(items: StoreItem[]): InteractionRow[] {
  return items.flatMap((i) => (i.kind === 'track' ? [i.row] : []));
}

/**
 * Splits a decoded batch of the interactions topic into TRACK rows, IDENTIFY rows and poison, in
 * offset order. A record sent without a role (ROLE_UNSET_HEADER) takes the role its user was last
 * given earlier in the batch; with none, `roleUnset` leaves it to the store (the user's stored role). A second message of the same type with an eventId already seen in the batch is
 * dropped here (the database would drop it anyway; this keeps the first one's Kafka coordinates).
 */
export function planInteractions(decoded: DecodedInteraction[], partition: number): BatchPlan {
  const plan: BatchPlan = { items: [], poison: [], duplicatesInBatch: 0 };
  const seen = new Set<string>();
  // The role last given for each user in this batch, for its later records without one (the
  // database resolves the others from the users table: the role stored before this batch).
  const given = new Map<string, InteractionRecord['role']>();
  for (const d of decoded) {
    if (d.kind === 'poison') {
      plan.poison.push(d);
      continue;
    }
    // Per kind, as the database keeps them (interactions and identifies are separate tables): the
    // same id as a TRACK and an IDENTIFY is two rows whether they share a batch or not.
    const key = `${d.record.type}:${d.record.eventId}`;
    if (seen.has(key)) {
      plan.duplicatesInBatch += 1;
      continue;
    }
    seen.add(key);
    let record = d.record;
    let roleUnset = false;
    if (d.message.headers?.[ROLE_UNSET_HEADER] === undefined) given.set(record.userId, record.role);
    else {
      const role = given.get(record.userId);
      if (role === undefined) roleUnset = true;
      else record = { ...record, role };
    }
    if (record.type === 'IDENTIFY') {
      plan.items.push({
        kind: 'identify',
        row: { ...toIdentifyRow(record, partition, d.message.offset), roleUnset },
        message: d.message,
      });
    } else {
      plan.items.push({
        kind: 'track',
        row: { ...toInteractionRow(record, partition, d.message.offset), roleUnset },
        message: d.message,
      });
    }
  }
  return plan;
}

/** The same for the api-hits topic: deltas deduplicated by batchId. */
export function planApiHits(decoded: DecodedApiHits[]): BatchPlan {
  const plan: BatchPlan = { items: [], poison: [], duplicatesInBatch: 0 };
  const seen = new Set<string>();
  for (const d of decoded) {
    if (d.kind === 'poison') {
      plan.poison.push(d);
    } else if (seen.has(d.delta.batchId)) {
      plan.duplicatesInBatch += 1;
    } else {
      seen.add(d.delta.batchId);
      plan.items.push({
        kind: 'apiHits',
        row: { batchId: d.delta.batchId, service: d.delta.service, hits: d.delta.hits },
        message: d.message,
      });
    }
  }
  return plan;
}

/** The offset to commit after `offset`: Kafka commits the next offset to read. */
export function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

/** Halves for isolating the rows the database refuses (binary search, O(k log n) transactions). */
export function halves<T>(xs: T[]): [T[], T[]] {
  const mid = Math.ceil(xs.length / 2);
  return [xs.slice(0, mid), xs.slice(mid)];
}

/**
 * Moves the track items older than `rawFromMs` (raw_retention.raw_from: their week has been dropped
 * by retention) to the plan's poison as `expired`: the dead-letter topic keeps them, nothing counts them.
 */
export function expireBefore(plan: BatchPlan, rawFromMs: number | null): void {
  if (rawFromMs === null) return;
  plan.items = plan.items.filter((i) => {
    const expired = expiredPoison(i, rawFromMs);
    if (expired) plan.poison.push(expired);
    return !expired;
  });
}

/** An `expired` poison for a track item older than `rawFromMs`; null for any other item. */
export function expiredPoison(item: StoreItem, rawFromMs: number): Poison | null {
  if (item.kind !== 'track' || item.row.occurredAt >= rawFromMs) return null;
  const at = new Date(item.row.occurredAt).toISOString();
  const from = new Date(rawFromMs).toISOString();
  return poison(
    item.message,
    'expired',
    'validate',
    `occurredAt ${at} is before raw rows are kept (from ${from})`,
  );
}
