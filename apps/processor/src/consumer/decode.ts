import { InteractionSerde } from '@tracker/kafka';
import {
  type ApiHitsMessage,
  ApiHitsMessageSchema,
  type InteractionRecord,
  InteractionRecordSchema,
  LIMITS,
  occurredAtOutside,
  pageBytesOver,
  textProblem,
} from '@tracker/schemas';
import type { KafkaMessage } from 'kafkajs';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { type Poison, poison } from './poison.js';

export type DecodedInteraction =
  | { kind: 'record'; record: InteractionRecord; message: KafkaMessage }
  | Poison;
export type DecodedApiHits = { kind: 'apiHits'; delta: ApiHitsMessage; message: KafkaMessage } | Poison;

/** The registry did not answer (as opposed to answering "no such schema"): an outage, retried. */
export class RegistryUnavailableError extends Error {
  override name = 'RegistryUnavailableError';
}

// Year 1970 to 9999: what PostgreSQL and JavaScript dates both represent, and any real event has.
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

type Validator = ReturnType<typeof Compile<TSchema>>;

/** Compiled once: a few µs per record, against ~0.3 ms for the dynamic Value.Errors. */
function problemsOf(validator: Validator, value: unknown): string | null {
  if (validator.Check(value)) return null;
  return [...validator.Errors(value)]
    .slice(0, 5)
    .map((e) => `${e.instancePath || '/'} ${e.message}`)
    .join('; ');
}

const recordValidator: Validator = Compile(InteractionRecordSchema as TSchema);

/**
 * Why a decoded record cannot be stored, or null: the record schema (InteractionRecordSchema), plus
 * what PostgreSQL would refuse later for the whole batch (NUL characters, dates out of range).
 */
export function recordProblem(record: InteractionRecord): string | null {
  const problems = problemsOf(recordValidator, record);
  if (problems) return problems;
  for (const field of ['occurredAt', 'receivedAt'] as const) {
    if (record[field] < 0 || record[field] > MAX_TIME) return `/${field} is outside 1970-01-01..9999-12-31`;
  }
  // What ingest refuses (OCCURRED_AT_LIMITS): a record from other tooling dated 9999 broke every
  // all-time statistic, and one before 2000 stretched the daily series over decades.
  const outside = occurredAtOutside(record.occurredAt, record.receivedAt);
  if (outside === 'past') return '/occurredAt is before 2000-01-01';
  if (outside === 'future') return '/occurredAt is more than 24 h after receivedAt';
  const pageBytes = pageBytesOver(record.page);
  if (pageBytes !== null) {
    return `/page is ${pageBytes} bytes in UTF-8; at most ${LIMITS.page} (an index entry holds it)`;
  }
  const text = textProblem(record);
  if (text === null) return null;
  // (Avro strings are UTF-8, so a decoded record holds a NUL at most, never half a surrogate pair.)
  return `/${text.path.replace('.', '/')} contains ${text.problem === 'nul' ? 'a NUL character' : 'an unpaired UTF-16 surrogate'}`;
}

/**
 * Decodes one message of the interactions topic: Avro through the registry, then validation.
 * Poison comes back as a value; only a registry outage throws (RegistryUnavailableError).
 */
export async function decodeInteraction(
  serde: InteractionSerde,
  message: KafkaMessage,
): Promise<DecodedInteraction> {
  const schemaId = InteractionSerde.schemaIdOf(message.value);
  if (schemaId === undefined) {
    return poison(
      message,
      'not_avro',
      'decode',
      'not in the Confluent Avro wire format (magic byte 0 + 4-byte schema id)',
    );
  }
  try {
    await serde.registry.getSchema(schemaId);
  } catch (error) {
    // NOTE: the registry client reports network failures as status 400; only 404 means "unknown id".
    const status = (error as { status?: number }).status;
    if (status === 404) {
      return poison(message, 'unknown_schema', 'decode', `schema id ${schemaId} is not in the registry`);
    }
    // The registry answered, but the client cannot use the schema (a JSON schema with a keyword its
    // validator does not know, a schema type it does not read): no retry will change that, and
    // taking it for an outage stalled the partition until the processor gave up and exited.
    if (status === undefined && (error as Error).name === 'ConfluentSchemaRegistryArgumentError') {
      return poison(
        message,
        'unknown_schema',
        'decode',
        `schema id ${schemaId} cannot be read: ${(error as Error).message}`,
      );
    }
    throw new RegistryUnavailableError(`schema registry: ${(error as Error).message}`);
  }
  let decoded: InteractionRecord;
  try {
    decoded = await serde.decode(message.value);
  } catch (error) {
    return poison(message, 'avro_decode_failed', 'decode', (error as Error).message);
  }
  // avsc returns instances of generated record classes; validate and store plain data.
  const record = { ...decoded, properties: { ...decoded.properties } } as InteractionRecord;
  const problem = recordProblem(record);
  if (problem) return poison(message, 'invalid_record', 'validate', problem);
  return { kind: 'record', record, message };
}

const apiHitsValidator: Validator = Compile(ApiHitsMessageSchema as TSchema);

export function decodeApiHits(message: KafkaMessage): DecodedApiHits {
  let value: unknown;
  try {
    value = JSON.parse(message.value?.toString('utf8') ?? '');
  } catch (error) {
    return poison(message, 'invalid_json', 'decode', (error as Error).message);
  }
  const problem = problemsOf(apiHitsValidator, value);
  if (problem) return poison(message, 'invalid_record', 'validate', problem);
  return { kind: 'apiHits', delta: value as ApiHitsMessage, message };
}
