import { type Static, Type } from 'typebox';

/** Kafka topic names: the one place they are spelled. */
export const TOPICS = {
  /** Accepted interactions and identify calls, Avro through the schema registry, key = userId. */
  interactions: 'interactions',
  /** Messages the processor could not decode or validate, with the original bytes and reason headers. */
  deadLetter: 'interactions.dlq',
  /** Per-instance request counters ("API hits"), JSON, compacted by the processor into PostgreSQL. */
  apiHits: 'tracker.api-hits',
} as const;

/** Registry subject for the interactions value schema (TopicNameStrategy). */
export const INTERACTION_SUBJECT = `${TOPICS.interactions}-value`;

/** Headers the processor puts on every dead-lettered message. */
export const DLQ_HEADERS = {
  reason: 'dlq-reason',
  step: 'dlq-step',
  topic: 'dlq-source-topic',
  partition: 'dlq-source-partition',
  offset: 'dlq-source-offset',
  time: 'dlq-time',
} as const;

/**
 * Header of an interactions-topic message whose sender gave no role: the record says GUEST (the Avro
 * default), and the processor stores the user's known role instead (GUEST for a new user), so that
 * a back end that identifies a user once and then tracks without a role does not turn them into a
 * guest. Set by ingest; other producers may set it too (any value).
 */
export const ROLE_UNSET_HEADER = 'tracker-role-unset';

/**
 * JSON value of a message on TOPICS.apiHits: a delta of requests served by one service instance.
 * Written by every service, read by the processor; fields beyond these are allowed (newer senders).
 */
export const ApiHitsMessageSchema = Type.Object({
  /** Idempotency key: a delta is counted once however often it is delivered. */
  batchId: Type.String({ format: 'uuid' }),
  service: Type.String({ minLength: 1, maxLength: 64 }),
  hits: Type.Integer({ minimum: 0, maximum: 1_000_000_000_000 }),
  /** Epoch ms when the delta was flushed. */
  at: Type.Number(),
});
export type ApiHitsMessage = Static<typeof ApiHitsMessageSchema>;
