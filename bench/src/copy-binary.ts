/**
 * Rows of `interactions` in PostgreSQL's binary COPY format (COPY ... FROM STDIN (FORMAT binary)):
 * the pipeline row's limit, the fastest way PostgreSQL takes rows in. Layout per the COPY docs:
 * signature, flags, extension length; per tuple a field count and each field as length + bytes in
 * the type's binary send format; -1 as the trailer.
 */
import { pipeline } from 'node:stream/promises';
import type { InteractionRow, pg } from '@tracker/db';
import { from as copyFrom } from 'pg-copy-streams';

/** The columns written, in order (stored_at takes its default). */
export const COPY_COLUMNS = [
  'event_id',
  'user_id',
  'role',
  'action',
  'page',
  'occurred_at',
  'received_at',
  'session_id',
  'properties',
  'user_agent',
  'is_bot',
  'kafka_partition',
  'kafka_offset',
] as const;

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const PG_EPOCH_US = 946_684_800_000_000n;

class Writer {
  readonly #parts: Buffer[] = [];
  int16(v: number): void {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(v);
    this.#parts.push(b);
  }
  int32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(v);
    this.#parts.push(b);
  }
  field(bytes: Buffer | null): void {
    this.int32(bytes === null ? -1 : bytes.length);
    if (bytes !== null) this.#parts.push(bytes);
  }
  raw(b: Buffer): void {
    this.#parts.push(b);
  }
  done(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

const text = (s: string | null) => (s === null ? null : Buffer.from(s, 'utf8'));
const uuid = (s: string) => Buffer.from(s.replace(/-/g, ''), 'hex');
const int4 = (v: number) => {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(v);
  return b;
};
const int8 = (v: bigint) => {
  const b = Buffer.allocUnsafe(8);
  b.writeBigInt64BE(v);
  return b;
};
const timestamptz = (ms: number) => int8(BigInt(ms) * 1000n - PG_EPOCH_US);
// jsonb's binary form: a version byte (1), then the JSON text.
const jsonb = (value: unknown) =>
  Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(value), 'utf8')]);

/** One COPY stream's worth of `rows`: header, tuples and trailer. */
export function encodeCopyBinary(rows: InteractionRow[]): Buffer {
  const w = new Writer();
  w.raw(SIGNATURE);
  w.int32(0); // flags
  w.int32(0); // header extension length
  for (const r of rows) {
    w.int16(COPY_COLUMNS.length);
    w.field(uuid(r.eventId));
    w.field(text(r.userId));
    w.field(text(r.role)); // an enum's binary form is its label
    w.field(text(r.action));
    w.field(text(r.page));
    w.field(timestamptz(r.occurredAt));
    w.field(timestamptz(r.receivedAt));
    w.field(text(r.sessionId));
    w.field(jsonb(r.properties));
    w.field(text(r.userAgent));
    w.field(Buffer.from([r.isBot ? 1 : 0]));
    w.field(int4(r.partition));
    w.field(int8(BigInt(r.offset)));
  }
  w.int16(-1);
  return w.done();
}

/** Writes `rows` into `table` (shaped like `interactions`) with one binary COPY on `client`. */
export async function copyInteractions(
  client: pg.PoolClient,
  table: string,
  rows: InteractionRow[],
): Promise<void> {
  const encoded = encodeCopyBinary(rows);
  await pipeline(
    async function* () {
      yield encoded;
    },
    client.query(copyFrom(`COPY ${table} (${COPY_COLUMNS.join(', ')}) FROM STDIN (FORMAT binary)`)),
  );
}
