import { createRequire } from 'node:module';
import { COMPATIBILITY, type SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { INTERACTION_SUBJECT, type InteractionRecord, interactionAvroSchema } from '@tracker/schemas';

export const MAGIC_BYTE = 0;

/** Thrown when a message is not in the Confluent wire format (magic byte + 4-byte schema id). */
export class NotAvroError extends Error {
  override name = 'NotAvroError';
}

/** The part of an avsc Type the serde uses (what the registry client caches per schema id). */
export interface AvroType {
  encode(value: unknown, buffer: Buffer, position?: number): number;
  toBuffer(value: unknown): Buffer;
  fromBuffer(buffer: Buffer, resolver?: unknown): unknown;
  equals(other: unknown): boolean;
  createResolver(writer: AvroType): unknown;
}

/**
 * avsc as the registry client loads it, so the reader type and the writer types it hands out are
 * the same class (a resolver needs both).
 */
const avsc = createRequire(createRequire(import.meta.url).resolve('@kafkajs/confluent-schema-registry'))(
  'avsc',
) as { Type: { forSchema(schema: unknown): AvroType } };

/**
 * An avsc type for an Avro schema, from the avsc the registry client uses: what other tooling would
 * encode with (tests, benchmarks), without a dependency on avsc of one's own.
 */
export function avroType(schema: object): AvroType {
  return avsc.Type.forSchema(schema);
}

/** Where encodeSync writes before copying out; an event is at most 32 KB as JSON. */
const scratch = Buffer.allocUnsafe(256 * 1024);

/**
 * Avro encoding of interactions through the registry. `register()` once at start-up registers the
 * schema under `interactions-value` with BACKWARD compatibility and caches its id; encode and decode
 * then hit the registry only for schema ids they have not seen (the client caches schemas by id).
 */
export class InteractionSerde {
  #schemaId: number | undefined;
  #type: AvroType | undefined;
  /** Our schema, as what every record is read into whatever schema it was written with. */
  readonly #reader: AvroType = avroType(interactionAvroSchema);
  /** Per writer schema id: how its records resolve into #reader (undefined: the same schema). */
  readonly #resolvers = new Map<number, { resolver: unknown }>();

  constructor(
    readonly registry: SchemaRegistry,
    readonly subject: string = INTERACTION_SUBJECT,
  ) {}

  get schemaId(): number | undefined {
    return this.#schemaId;
  }

  /** Registers (or finds) the schema and sets the subject to BACKWARD compatibility. */
  async register(schema: object = interactionAvroSchema): Promise<number> {
    const payload = { type: SchemaType.AVRO, schema: JSON.stringify(schema) } as const;
    const opts = { subject: this.subject, compatibility: COMPATIBILITY.BACKWARD };
    try {
      const { id } = await this.registry.register(payload, opts);
      this.#schemaId = id;
    } catch (error) {
      // NOTE: a subject created by someone else without a rule reads back NONE on Apicurio; set the
      // rule we want and register again instead of refusing to start.
      if ((error as Error).name !== 'ConfluentSchemaRegistryCompatibilityError') throw error;
      // The client keeps its HTTP API private in the types; it is the same mappersmith client it uses.
      const { api } = this.registry as unknown as {
        api: { Subject: { updateConfig(args: { subject: string; body: object }): Promise<unknown> } };
      };
      await api.Subject.updateConfig({
        subject: this.subject,
        body: { compatibility: COMPATIBILITY.BACKWARD },
      });
      const { id } = await this.registry.register(payload, opts);
      this.#schemaId = id;
    }
    // The avsc type the registry client built for this id (it caches one per id): encodeSync uses it
    // directly, without a promise and a cache lookup per message.
    this.#type = (await this.registry.getSchema(this.#schemaId)) as unknown as AvroType;
    return this.#schemaId;
  }

  /** Confluent wire format (magic byte, schema id, Avro) of a record; the same bytes as encodeSync. */
  async encode(record: InteractionRecord): Promise<Buffer> {
    return this.encodeSync(record);
  }

  /**
   * Encodes with the schema cached by register(): one allocation per message and no promise, which
   * matters at tens of thousands of events per second (bench: ingest_batch). Throws like avsc does
   * for a record that does not fit the schema.
   */
  encodeSync(record: InteractionRecord): Buffer {
    const id = this.#schemaId;
    const type = this.#type;
    if (id === undefined || type === undefined) {
      throw new Error('InteractionSerde.register() must run before encode()');
    }
    scratch[0] = MAGIC_BYTE;
    scratch.writeInt32BE(id, 1);
    const end = type.encode(record, scratch, 5);
    if (end < 0) {
      // Larger than the scratch buffer (not for a valid event): let avsc size it.
      const body = type.toBuffer(record);
      return Buffer.concat([scratch.subarray(0, 5), body]);
    }
    const out = Buffer.allocUnsafe(end);
    scratch.copy(out, 0, 0, end);
    return out;
  }

  /**
   * Decodes a message value into our schema (Avro schema resolution): a record written with a newer
   * compatible schema loses the fields we do not know, and a role symbol we do not know reads as the
   * enum's default (GUEST), as the schema's docs promise. Throws NotAvroError for bytes that are not
   * in the wire format, and avsc's error for a writer schema that does not resolve into ours.
   */
  async decode(value: Buffer | null): Promise<InteractionRecord> {
    const id = InteractionSerde.schemaIdOf(value);
    if (id === undefined) {
      throw new NotAvroError('message is not in the Confluent Avro wire format (magic byte 0 + schema id)');
    }
    let entry = this.#resolvers.get(id);
    if (!entry) {
      const writer = (await this.registry.getSchema(id)) as unknown as AvroType;
      if (typeof writer?.equals !== 'function') throw new Error(`schema id ${id} is not an Avro schema`);
      entry = { resolver: writer.equals(this.#reader) ? undefined : this.#reader.createResolver(writer) };
      this.#resolvers.set(id, entry);
    }
    return this.#reader.fromBuffer(value!.subarray(5), entry.resolver) as InteractionRecord;
  }

  /** The schema id a wire-format message names, or undefined when it is not in the wire format. */
  static schemaIdOf(value: Buffer | null): number | undefined {
    if (!value || value.length < 5 || value[0] !== MAGIC_BYTE) return undefined;
    return value.readInt32BE(1);
  }
}
