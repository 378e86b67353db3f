import { readFileSync } from 'node:fs';
import { type Static, Type } from 'typebox';

/** The Avro schema of the `interactions` topic (namespace io.tracker.events). */
export const interactionAvroSchema: AvroRecordSchema = JSON.parse(
  readFileSync(new URL('./avro/interaction.avsc', import.meta.url), 'utf8'),
);

export interface AvroField {
  name: string;
  type: unknown;
  default?: unknown;
  doc?: string;
}
export interface AvroRecordSchema {
  type: 'record';
  name: string;
  namespace: string;
  doc?: string;
  fields: AvroField[];
}

export const ROLES = ['ADMIN', 'USER', 'GUEST'] as const;
export type Role = (typeof ROLES)[number];
export const EVENT_TYPES = ['TRACK', 'IDENTIFY'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const LIMITS = {
  userId: 128,
  action: 64,
  page: 2048,
  sessionId: 128,
  propertyKeys: 50,
  propertyKey: 128,
  propertyValue: 1024,
  userAgent: 512,
  eventBytes: 32 * 1024,
} as const;

/**
 * When an interaction may have happened: from 2000-01-01 UTC (earlier dates are the mark of a clock
 * that was reset, and stretch every all-time series over decades) to 24 h after it was received.
 * Ingest refuses events outside (after skew correction); the processor dead-letters records outside
 * that reached the topic another way.
 */
export const OCCURRED_AT_LIMITS = {
  earliestMs: Date.UTC(2000, 0, 1),
  maxFutureMs: 24 * 3600 * 1000,
} as const;

const FRACTION_PAST_MS = /(\.\d{3})\d+/;

/**
 * Date.parse, but reading a fraction of a second as written. NOTE: V8 reads a fraction of 10 or more
 * digits with a leading zero as if the zero were not there (`.0816179592` → 816 ms); instants have
 * milliseconds only, so the fraction is cut to three digits first.
 */
export function parseDateTime(text: string): number {
  return Date.parse(text.replace(FRACTION_PAST_MS, '$1'));
}

/** Which bound of OCCURRED_AT_LIMITS an occurredAt is beyond, if any (the one rule ingest and the processor apply). */
export function occurredAtOutside(occurredAt: number, receivedAt: number): 'past' | 'future' | null {
  if (occurredAt < OCCURRED_AT_LIMITS.earliestMs) return 'past';
  if (occurredAt > receivedAt + OCCURRED_AT_LIMITS.maxFutureMs) return 'future';
  return null;
}

/**
 * A stored page's size in UTF-8 bytes when it is over LIMITS.page, else null. PostgreSQL indexes the
 * page, and an index entry over ~2.7 KB is refused: the limit is in bytes, not characters. (A UTF-16
 * unit is at most 3 bytes, so short pages are not measured.)
 */
export function pageBytesOver(page: string): number | null {
  if (page.length * 3 <= LIMITS.page) return null;
  const bytes = Buffer.byteLength(page);
  return bytes > LIMITS.page ? bytes : null;
}

/** Action names after lower-casing. */
export const ACTION_PATTERN = '^[a-z0-9_.:-]{1,64}$';

export const PropertyValueSchema = Type.Union([
  Type.String({ maxLength: LIMITS.propertyValue }),
  Type.Number(),
  Type.Boolean(),
]);
// NOTE: a Record's key schema only picks the pattern; its length limits are checked by propertyNames.
export const PropertiesSchema = Type.Record(Type.String(), PropertyValueSchema, {
  maxProperties: LIMITS.propertyKeys,
  propertyNames: { minLength: 1, maxLength: LIMITS.propertyKey },
});
export type Properties = Static<typeof PropertiesSchema>;

/**
 * The record on the topic, field for field the Avro schema above (timestamps as epoch milliseconds,
 * optional Avro unions as `null`). A unit test proves the two agree.
 */
export const InteractionRecordSchema = Type.Object(
  {
    eventId: Type.String({ format: 'uuid' }),
    type: Type.Union([Type.Literal('TRACK'), Type.Literal('IDENTIFY')]),
    userId: Type.String({ minLength: 1, maxLength: LIMITS.userId }),
    role: Type.Union([Type.Literal('ADMIN'), Type.Literal('USER'), Type.Literal('GUEST')]),
    action: Type.String({ pattern: ACTION_PATTERN }),
    // A path, as ingest stores it (empty for IDENTIFY).
    page: Type.String({ maxLength: LIMITS.page, pattern: '^(?:/|$)' }),
    occurredAt: Type.Integer(),
    receivedAt: Type.Integer(),
    sessionId: Type.Union([Type.Null(), Type.String({ minLength: 1, maxLength: LIMITS.sessionId })]),
    properties: PropertiesSchema,
    userAgent: Type.Union([Type.Null(), Type.String({ maxLength: LIMITS.userAgent })]),
    isBot: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type InteractionRecord = Static<typeof InteractionRecordSchema>;

/** A role as clients may write it: ADMIN, USER or GUEST in any case. */
export const ROLE_INPUT_PATTERN = '^(?:[Aa][Dd][Mm][Ii][Nn]|[Uu][Ss][Ee][Rr]|[Gg][Uu][Ee][Ss][Tt])$';

/** What a pattern means, for error messages (instead of the regular expression itself). */
export const PATTERN_MESSAGES: Readonly<Record<string, string>> = {
  [ROLE_INPUT_PATTERN]: 'must be ADMIN, USER or GUEST (any case)',
};

const RoleInput = Type.String({
  description: 'ADMIN, USER or GUEST, any case; default GUEST',
  pattern: ROLE_INPUT_PATTERN,
});

/** One interaction as an HTTP client sends it (POST /v1/events, items of /v1/batch). */
export const InteractionInputSchema = Type.Object(
  {
    eventId: Type.Optional(
      Type.String({ format: 'uuid', description: 'Client-chosen id; resending the same id is counted once' }),
    ),
    userId: Type.String({ minLength: 1, maxLength: LIMITS.userId }),
    role: Type.Optional(RoleInput),
    action: Type.String({
      minLength: 1,
      maxLength: LIMITS.action,
      description: 'Lower-cased, then [a-z0-9_.:-]',
    }),
    page: Type.String({
      minLength: 1,
      maxLength: LIMITS.page,
      description: 'Path or absolute URL; stored as the path',
    }),
    timestamp: Type.Optional(
      Type.String({ format: 'date-time', description: 'When it happened (ISO-8601)' }),
    ),
    sentAt: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'When the client sent it; used to correct clock skew',
      }),
    ),
    sessionId: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.sessionId })),
    properties: Type.Optional(PropertiesSchema),
    userAgent: Type.Optional(Type.String({ maxLength: LIMITS.userAgent })),
  },
  { additionalProperties: false },
);
export type InteractionInput = Static<typeof InteractionInputSchema>;

/** POST /v1/identify. */
export const IdentifyInputSchema = Type.Object(
  {
    eventId: Type.Optional(
      Type.String({ format: 'uuid', description: 'Client-chosen id; resending the same id is counted once' }),
    ),
    userId: Type.String({ minLength: 1, maxLength: LIMITS.userId }),
    role: Type.Optional(RoleInput),
    traits: Type.Optional(PropertiesSchema),
    timestamp: Type.Optional(Type.String({ format: 'date-time' })),
    /** When the client sent it, by the same clock as `timestamp`: corrects a wrong clock, as for events. */
    sentAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
export type IdentifyInput = Static<typeof IdentifyInputSchema>;

/** Input fields that have no field of their own on the record: they are folded into occurredAt. */
export const INPUT_ONLY_FIELDS = ['timestamp', 'sentAt'] as const;
/** Record fields the server sets from the request, never the client. */
export const SERVER_SET_FIELDS = ['type', 'occurredAt', 'receivedAt', 'isBot'] as const;

/** What PostgreSQL cannot store of a record's text, and where (a dotted path: `userId`, `properties.plan`). */
export interface TextProblem {
  path: string;
  /**
   * `nul`: a NUL character (U+0000), which PostgreSQL text cannot hold. `unpaired-surrogate`: half a
   * surrogate pair (an emoji cut in two), no Unicode text (it would be stored as U+FFFD).
   */
  problem: 'nul' | 'unpaired-surrogate';
}

const problemOf = (s: unknown): TextProblem['problem'] | null =>
  typeof s !== 'string'
    ? null
    : s.includes('\u0000')
      ? 'nul'
      : s.isWellFormed()
        ? null
        : 'unpaired-surrogate';

/**
 * The first NUL character in a record's text (fields, then property keys and values), else its first
 * unpaired surrogate, else null; in one walk, as it runs for every event ingest receives. Ingest
 * refuses such an item (alone, in a batch); the processor dead-letters one that reached the topic
 * another way.
 */
export function textProblem(
  record: Pick<InteractionRecord, 'userId' | 'action' | 'page' | 'sessionId' | 'userAgent' | 'properties'>,
): TextProblem | null {
  let half: TextProblem | null = null;
  for (const field of ['userId', 'action', 'page', 'sessionId', 'userAgent'] as const) {
    const problem = problemOf(record[field]);
    if (problem === 'nul') return { path: field, problem };
    if (problem !== null) half ??= { path: field, problem };
  }
  for (const key in record.properties) {
    const k = problemOf(key);
    const v = problemOf(record.properties[key]);
    if (k === null && v === null) continue;
    const problem = k === 'nul' || v === 'nul' ? 'nul' : 'unpaired-surrogate';
    const path = `properties.${key.toWellFormed().replaceAll('\u0000', '\\0')}`;
    if (problem === 'nul') return { path, problem };
    half ??= { path, problem };
  }
  return half;
}

/**
 * The columns of the query service's CSV export, in order. Ingest's /v1/import reads a file with
 * this header as it is (snake_case names mapped to the input fields), so an export can be imported
 * into another instance.
 */
export const EXPORT_CSV_COLUMNS = [
  'event_id',
  'occurred_at',
  'received_at',
  'user_id',
  'role',
  'action',
  'page',
  'session_id',
  'properties',
] as const;
