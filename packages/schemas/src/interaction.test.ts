import avro from 'avsc';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import {
  type AvroField,
  INPUT_ONLY_FIELDS,
  InteractionInputSchema,
  type InteractionRecord,
  InteractionRecordSchema,
  interactionAvroSchema,
  ROLES,
  SERVER_SET_FIELDS,
} from './index.js';

type Json = Record<string, unknown>;

/** What kind of value an Avro type holds, in the words TypeBox/JSON Schema uses. */
function avroKind(type: unknown): Json {
  if (typeof type === 'string') {
    return (
      {
        string: { type: 'string' },
        long: { type: 'integer' },
        int: { type: 'integer' },
        double: { type: 'number' },
        boolean: { type: 'boolean' },
        null: { type: 'null' },
      }[type] ?? { unknown: type }
    );
  }
  if (Array.isArray(type)) return { anyOf: type.map(avroKind) };
  const t = type as Json;
  if (t.type === 'enum') return { enum: [...(t.symbols as string[])].sort() };
  if (t.type === 'map') return { map: avroKind(t.values) };
  if (t.logicalType === 'uuid') return { type: 'string', format: 'uuid' };
  if (t.logicalType === 'timestamp-millis') return { type: 'integer' };
  return avroKind(t.type);
}

/** The same description of a TypeBox schema. */
function typeboxKind(schema: TSchema): Json {
  const s = schema as unknown as Json;
  if (Array.isArray(s.anyOf)) {
    const members = s.anyOf as Json[];
    if (members.every((m) => 'const' in m)) return { enum: members.map((m) => m.const as string).sort() };
    return { anyOf: members.map((m) => typeboxKind(m as TSchema)) };
  }
  if (s.patternProperties)
    return { map: typeboxKind(Object.values(s.patternProperties as Json)[0] as TSchema) };
  if (s.format === 'uuid') return { type: 'string', format: 'uuid' };
  return { type: s.type };
}

const recordProps = InteractionRecordSchema.properties as Record<string, TSchema>;
const inputProps = InteractionInputSchema.properties as Record<string, TSchema>;

describe('Interaction schema: Avro and TypeBox agree', () => {
  it('has a namespace, a doc on the record and on every field', () => {
    expect(interactionAvroSchema.namespace).toBe('io.tracker.events');
    expect(interactionAvroSchema.doc).toBeTruthy();
    for (const field of interactionAvroSchema.fields) expect(field.doc, field.name).toBeTruthy();
  });

  it('names the same fields in both', () => {
    expect(interactionAvroSchema.fields.map((f) => f.name).sort()).toEqual(Object.keys(recordProps).sort());
  });

  it.each(interactionAvroSchema.fields.map((f) => [f.name, f] as [string, AvroField]))(
    'field %s has the same type in both',
    (name, field) => {
      expect(typeboxKind(recordProps[name]!)).toEqual(avroKind(field.type));
    },
  );

  it('gives the role enum a default so readers survive new roles', () => {
    const role = interactionAvroSchema.fields.find((f) => f.name === 'role')!;
    expect((role.type as Json).default).toBe('GUEST');
    expect((role.type as Json).symbols).toEqual([...ROLES]);
  });

  it('gives every optional or later-added field a default (BACKWARD compatible evolution)', () => {
    for (const name of ['type', 'role', 'sessionId', 'properties', 'userAgent', 'isBot']) {
      const field = interactionAvroSchema.fields.find((f) => f.name === name)!;
      expect(field, name).toHaveProperty('default');
    }
  });

  it('maps every HTTP input field to a record field or to the skew correction', () => {
    for (const name of Object.keys(inputProps)) {
      const known = name in recordProps || (INPUT_ONLY_FIELDS as readonly string[]).includes(name);
      expect(known, name).toBe(true);
    }
    for (const name of Object.keys(recordProps)) {
      const fromClient = name in inputProps || (SERVER_SET_FIELDS as readonly string[]).includes(name);
      expect(fromClient, name).toBe(true);
    }
  });

  it('round-trips a record through Avro unchanged and valid', () => {
    const type = avro.Type.forSchema(interactionAvroSchema as avro.Schema);
    const record: InteractionRecord = {
      eventId: '0b6c6d2e-3a5e-4f2b-9a41-2f0d2b7c9e10',
      type: 'TRACK',
      userId: 'u-1',
      role: 'ADMIN',
      action: 'form_submit',
      page: '/signup?plan=pro',
      occurredAt: 1_764_000_000_123,
      receivedAt: 1_764_000_000_456,
      sessionId: 's-1',
      properties: { plan: 'pro', seats: 3, trial: true },
      userAgent: 'Mozilla/5.0',
      isBot: false,
    };
    const decoded = type.fromBuffer(type.toBuffer(record));
    expect(decoded).toEqual(record);
    expect(Value.Check(InteractionRecordSchema, decoded)).toBe(true);
  });

  it('rejects what Avro would refuse too', () => {
    const bad = { eventId: 'not-a-uuid', userId: '', role: 'ROOT' };
    expect(Value.Check(InteractionRecordSchema, bad)).toBe(false);
  });
});
