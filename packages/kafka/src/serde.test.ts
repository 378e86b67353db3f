import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { type InteractionRecord, interactionAvroSchema } from '@tracker/schemas';
import { describe, expect, it } from 'vitest';
import { avroType, InteractionSerde } from './serde.js';

const type = avroType(interactionAvroSchema);
/** A registry that knows one schema, id 7, and encodes the way the real client does. */
const registry = {
  register: async () => ({ id: 7 }),
  getSchema: async () => type,
  decode: async (b: Buffer) => type.fromBuffer(b.subarray(5)),
} as unknown as SchemaRegistry;

const record: InteractionRecord = {
  eventId: '0b6c2a8e-9c1f-4c3e-8a51-2f0e5e7d1a11',
  type: 'TRACK',
  userId: 'user-00042',
  role: 'USER',
  action: 'click',
  page: '/pricing',
  occurredAt: Date.UTC(2026, 10, 26, 10),
  receivedAt: Date.UTC(2026, 10, 26, 10, 0, 1),
  sessionId: 's-1',
  properties: { plan: 'pro', amount: 29, trial: false },
  userAgent: 'Mozilla/5.0',
  isBot: false,
};

describe('InteractionSerde.encodeSync', () => {
  it('writes the Confluent wire format: magic byte, schema id, then the Avro body', async () => {
    const serde = new InteractionSerde(registry, 'test-value');
    expect(() => serde.encodeSync(record)).toThrow(/register/);
    await serde.register();
    const bytes = serde.encodeSync(record);
    expect(bytes).toEqual(Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), type.toBuffer(record)]));
    expect(await serde.encode(record)).toEqual(bytes);
    expect(InteractionSerde.schemaIdOf(bytes)).toBe(7);
    expect(await serde.decode(bytes)).toMatchObject({ ...record, properties: record.properties });
  });

  it('returns independent buffers (the scratch space is reused) and handles records larger than it', async () => {
    const serde = new InteractionSerde(registry, 'test-value');
    await serde.register();
    const a = serde.encodeSync(record);
    const b = serde.encodeSync({ ...record, userId: 'someone-else' });
    expect(type.fromBuffer(a.subarray(5))).toMatchObject({ userId: 'user-00042' });
    expect(type.fromBuffer(b.subarray(5))).toMatchObject({ userId: 'someone-else' });
    const huge = { ...record, properties: { blob: 'x'.repeat(300 * 1024) } };
    const big = serde.encodeSync(huge);
    expect(InteractionSerde.schemaIdOf(big)).toBe(7);
    expect(type.fromBuffer(big.subarray(5))).toMatchObject({ properties: { blob: huge.properties.blob } });
  });

  it('throws for a record the schema does not accept', async () => {
    const serde = new InteractionSerde(registry, 'test-value');
    await serde.register();
    expect(() => serde.encodeSync({ ...record, role: 'OWNER' as never })).toThrow();
  });
});

describe('InteractionSerde.decode', () => {
  // A newer schema the registry accepts as BACKWARD compatible: one more field, one more role.
  const newer = structuredClone(interactionAvroSchema) as unknown as {
    fields: { name: string; type: unknown; default?: unknown }[];
  };
  newer.fields.push({ name: 'country', type: ['null', 'string'], default: null });
  const role = newer.fields.find((f) => f.name === 'role')!.type as { symbols: string[] };
  role.symbols.push('OWNER');
  const newerType = avroType(newer);
  const wire = (id: number, body: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, id]), body]);
  const twoSchemas = {
    getSchema: async (id: number) => (id === 7 ? type : newerType),
  } as unknown as SchemaRegistry;

  it('reads a record written with a newer compatible schema into ours: unknown field dropped, unknown role GUEST', async () => {
    const serde = new InteractionSerde(twoSchemas, 'test-value');
    const owner = await serde.decode(
      wire(8, newerType.toBuffer({ ...record, role: 'OWNER', country: 'NL' })),
    );
    expect({ ...owner, properties: { ...owner.properties } }).toEqual({ ...record, role: 'GUEST' });
    expect(owner).not.toHaveProperty('country');
    const admin = await serde.decode(
      wire(8, newerType.toBuffer({ ...record, role: 'ADMIN', country: null })),
    );
    expect(admin.role).toBe('ADMIN');
    // Our own schema: read as written.
    expect(await serde.decode(wire(7, type.toBuffer(record)))).toMatchObject(record);
  });

  it('refuses bytes outside the wire format, and a writer schema that does not resolve into ours', async () => {
    const serde = new InteractionSerde(twoSchemas, 'test-value');
    await expect(serde.decode(Buffer.from('{"a":1}'))).rejects.toThrow(/wire format/);
    const unrelated = avroType({
      type: 'record',
      name: 'Other',
      fields: [{ name: 'x', type: 'int' }],
    });
    const odd = new InteractionSerde({ getSchema: async () => unrelated } as unknown as SchemaRegistry, 't');
    await expect(odd.decode(wire(9, unrelated.toBuffer({ x: 1 })))).rejects.toThrow();
  });
});
