import { pipeline, Readable } from 'node:stream';
import { type ErrorDetail, HttpError, unpairedSurrogateAt } from '@tracker/http';
import { EXPORT_CSV_COLUMNS, InteractionInputSchema } from '@tracker/schemas';
import { parse as parseCsv } from 'csv-parse';
import sjson from 'secure-json-parse';
import type { RejectReason } from '../normalize.js';

/** One item read from an import file: a parsed value, or why it could not be read. */
export type ImportItem =
  | { line: number; value: unknown; bytes?: number }
  | { line: number; errors: ErrorDetail[]; reason: RejectReason; fatal?: boolean };

export type ByteSource = AsyncIterable<Buffer | string>;

const NL = 0x0a;
const tooLarge = (line: number, max: number): ImportItem => ({
  line,
  reason: 'too_large',
  errors: [{ path: '', message: `is longer than ${max} bytes; one event may have at most ${max}` }],
});

const utf8 = new TextDecoder('utf-8', { fatal: true }); // also drops a leading byte-order mark
const unparseable = (line: number, message: string, path = ''): ImportItem => ({
  line,
  reason: 'unparseable',
  errors: [{ path, message }],
});

/**
 * One item's bytes as JSON, refused as the JSON routes refuse them: bytes that are not UTF-8 (decoded
 * leniently they would be stored as U+FFFD), prototype poisoning (`__proto__`/`constructor.prototype`
 * keys) and escaped lone surrogates (no valid Unicode). With `skipBlank`, undefined for blank text.
 */
function parseJson(line: number, bytes: Buffer, skipBlank: true): ImportItem | undefined;
function parseJson(line: number, bytes: Buffer): ImportItem;
function parseJson(line: number, bytes: Buffer, skipBlank = false): ImportItem | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return unparseable(line, 'is not valid UTF-8 text');
  }
  if (skipBlank && text.trim().length === 0) return undefined;
  let value: unknown;
  try {
    value = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    return unparseable(line, `is not valid JSON: ${(error as Error).message}`);
  }
  if (text.includes('\\u')) {
    const at = unpairedSurrogateAt(value, '');
    if (at !== undefined) return unparseable(line, 'contains an unpaired UTF-16 surrogate', at.slice(1));
  }
  return { line, value, bytes: bytes.length };
}

const asBuffer = (chunk: Buffer | string) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk);

/**
 * Bytes a reader takes in one step: a step's items are made at once (a 64 KB chunk of `1,` is 32 768
 * JSON elements, of `x\n` as many CSV rows), so whatever size the source's chunks are, what one step
 * holds stays bounded.
 */
export const STEP_BYTES = 16 * 1024;

/** The source's chunks as Buffers of at most STEP_BYTES (views, not copies). */
export async function* steps(source: ByteSource): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const buf = asBuffer(chunk);
    for (let i = 0; i < buf.length; i += STEP_BYTES) yield buf.subarray(i, i + STEP_BYTES);
  }
}

/**
 * NDJSON: one JSON value per line, blank lines skipped. A line longer than `maxBytes` is reported
 * and skipped without being held in memory, so memory stays bounded whatever the file holds.
 * `firstLine`: the number of the source's first line (sniffJson drops leading blank lines).
 */
export async function* ndjsonItems(
  source: ByteSource,
  maxBytes: number,
  firstLine = 1,
): AsyncGenerator<ImportItem> {
  let parts: Buffer[] = [];
  let size = 0;
  let oversize = false;
  let line = firstLine;
  const emit = (): ImportItem | undefined => {
    if (oversize) return tooLarge(line, maxBytes);
    if (size === 0) return undefined;
    return parseJson(line, Buffer.concat(parts, size), true);
  };
  for await (const chunk of source) {
    const buf = asBuffer(chunk);
    let start = 0;
    while (start <= buf.length) {
      const nl = buf.indexOf(NL, start);
      const end = nl === -1 ? buf.length : nl;
      if (!oversize && end > start) {
        if (size + (end - start) > maxBytes) {
          oversize = true;
          parts = [];
        } else {
          parts.push(buf.subarray(start, end));
          size += end - start;
        }
      }
      if (nl === -1) break;
      const item = emit();
      if (item) yield item;
      parts = [];
      size = 0;
      oversize = false;
      line += 1;
      start = nl + 1;
    }
  }
  const last = emit();
  if (last) yield last;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * A top-level JSON array, split into its elements by a byte scanner (depth and string state only), so
 * that each element is parsed on its own with JSON.parse and none is held beyond `maxBytes`.
 * NOTE: general streaming JSON parsers assemble every element however large it is and say they are
 * not meant for untrusted input; browser write keys are public, so this endpoint gets untrusted bytes.
 * A structural error (no `[`, a missing comma, text after `]`) ends the file with a fatal item.
 */
export class JsonArraySplitter {
  #state: 'start' | 'before' | 'value' | 'after' | 'end' = 'start';
  #afterComma = false;
  #depth = 0;
  #inString = false;
  #escape = false;
  #parts: Buffer[] = [];
  #size = 0;
  #oversize = false;
  #line: number;
  #itemLine: number;
  #bom = true;
  #failed = false;

  /** `firstLine`: the number of the input's first line (sniffJson drops leading blank lines). */
  constructor(
    readonly maxBytes: number,
    firstLine = 1,
  ) {
    this.#line = firstLine;
    this.#itemLine = firstLine;
  }

  /** Items completed by this chunk. */
  push(chunk: Buffer): ImportItem[] {
    const out: ImportItem[] = [];
    if (this.#failed) return out;
    let buf = chunk;
    if (this.#bom && buf.length > 0) {
      if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
      this.#bom = false;
    }
    let segment = this.#state === 'value' ? 0 : -1;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i]!;
      if (this.#state === 'value') {
        let endBefore = false;
        let endAfter = false;
        if (this.#inString) {
          if (this.#escape) this.#escape = false;
          else if (c === 0x5c) this.#escape = true;
          else if (c === 0x22) {
            this.#inString = false;
            endAfter = this.#depth === 0;
          }
        } else if (c === 0x22) this.#inString = true;
        else if (c === 0x7b || c === 0x5b) this.#depth += 1;
        else if (c === 0x7d || c === 0x5d) {
          if (this.#depth === 0) endBefore = true;
          else {
            this.#depth -= 1;
            endAfter = this.#depth === 0;
          }
        } else if (this.#depth === 0 && (c === 0x2c || WS.has(c))) endBefore = true;
        if (endBefore || endAfter) {
          this.#append(buf, segment, endAfter ? i + 1 : i);
          out.push(this.#finishItem());
          segment = -1;
          this.#state = 'after';
          if (endAfter) {
            if (c === NL) this.#line += 1;
            continue;
          }
        } else {
          if (c === NL) this.#line += 1;
          continue;
        }
      }
      if (c === NL) this.#line += 1;
      if (WS.has(c)) continue;
      switch (this.#state) {
        case 'start':
          if (c === 0xef || c === 0xbb || c === 0xbf) break; // a byte-order mark split across chunks
          if (c !== 0x5b) return this.#fail(out, 'a JSON array must start with [');
          this.#state = 'before';
          break;
        case 'before':
          if (c === 0x5d && !this.#afterComma) {
            this.#state = 'end';
            break;
          }
          if (c === 0x2c || c === 0x5d)
            return this.#fail(out, `unexpected ${String.fromCharCode(c)}; expected a value`);
          this.#state = 'value';
          this.#afterComma = false;
          this.#itemLine = this.#line;
          segment = i;
          this.#inString = c === 0x22;
          this.#depth = c === 0x7b || c === 0x5b ? 1 : 0;
          break;
        case 'after':
          if (c === 0x2c) {
            this.#state = 'before';
            this.#afterComma = true;
          } else if (c === 0x5d) this.#state = 'end';
          else return this.#fail(out, `unexpected ${String.fromCharCode(c)}; expected , or ]`);
          break;
        case 'end':
          return this.#fail(out, 'unexpected text after the closing ]');
      }
    }
    if (this.#state === 'value' && segment !== -1) this.#append(buf, segment, buf.length);
    return out;
  }

  /** Call at the end of the input: reports an array that never closed. */
  end(): ImportItem[] {
    if (this.#failed || this.#state === 'end') return [];
    if (this.#state === 'start') return this.#fail([], 'the file is empty; expected a JSON array');
    const out: ImportItem[] = [];
    if (this.#state === 'value' && this.#depth === 0 && !this.#inString) out.push(this.#finishItem());
    return this.#fail(out, 'the JSON array is not closed with ]');
  }

  #append(buf: Buffer, from: number, to: number): void {
    if (this.#oversize || to <= from) return;
    if (this.#size + (to - from) > this.maxBytes) {
      this.#oversize = true;
      this.#parts = [];
      return;
    }
    this.#parts.push(buf.subarray(from, to));
    this.#size += to - from;
  }

  #finishItem(): ImportItem {
    const item = this.#oversize
      ? tooLarge(this.#itemLine, this.maxBytes)
      : parseJson(this.#itemLine, Buffer.concat(this.#parts, this.#size));
    this.#parts = [];
    this.#size = 0;
    this.#oversize = false;
    this.#depth = 0;
    this.#inString = false;
    this.#escape = false;
    return item;
  }

  #fail(out: ImportItem[], message: string): ImportItem[] {
    this.#failed = true;
    out.push({
      line: this.#line,
      reason: 'unparseable',
      fatal: true,
      errors: [{ path: '', message: `${message}; the rest of the file was not read` }],
    });
    return out;
  }
}

export async function* jsonArrayItems(
  source: ByteSource,
  maxBytes: number,
  firstLine = 1,
): AsyncGenerator<ImportItem> {
  const splitter = new JsonArraySplitter(maxBytes, firstLine);
  for await (const step of steps(source)) yield* splitter.push(step);
  yield* splitter.end();
}

/** Columns a CSV import may have: the input fields, `properties` (a JSON object) and `properties.<key>`. */
export const CSV_COLUMNS = Object.keys(InteractionInputSchema.properties);
const REQUIRED_COLUMNS = ['userId', 'action', 'page'];

/**
 * The columns of the query service's CSV export (EXPORT_CSV_COLUMNS: `GET /api/export?format=csv`)
 * read as the input's names, so that an export imports as it is: event_id → eventId, occurred_at →
 * occurredAt (the event's time), received_at → receivedAt (dropped), … (fromExport).
 */
export const EXPORT_COLUMN_NAMES: Readonly<Record<string, string>> = Object.fromEntries(
  EXPORT_CSV_COLUMNS.map((c) => [c, c.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase())]),
);

/**
 * An item as /api/export writes it, read as import input: `occurredAt` is the event's `timestamp`,
 * `receivedAt` is dropped (ingest stamps its own), a null `sessionId`, `role` or `eventId` is absent.
 * Anything else is left for validation to judge.
 */
export function fromExport(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const v = value as Record<string, unknown>;
  if (
    !('occurredAt' in v || 'receivedAt' in v || v.sessionId === null || v.role === null || v.eventId === null)
  )
    return value;
  const out: Record<string, unknown> = { ...v };
  if ('occurredAt' in out && (out.timestamp === undefined || out.timestamp === out.occurredAt)) {
    out.timestamp = out.occurredAt;
    delete out.occurredAt;
  }
  delete out.receivedAt;
  for (const key of ['sessionId', 'role', 'eventId']) if (out[key] === null) delete out[key];
  return out;
}

/** The header row names columns nobody reads, or misses a required one: refused before any row. */
export class CsvHeaderError extends Error {
  constructor(readonly details: ErrorDetail[]) {
    super('the CSV header row does not fit');
    this.name = 'CsvHeaderError';
  }
}

function checkHeader(raw: string[]): string[] {
  const details: ErrorDetail[] = [];
  const seen = new Set<string>();
  // The export's snake_case names are read as the input's (and its other columns have the same names).
  const header = raw.map((name) => EXPORT_COLUMN_NAMES[name] ?? name);
  for (const name of header) {
    if (seen.has(name)) {
      details.push({ path: `header.${name}`, message: 'appears twice (which one holds the value?)' });
    }
    seen.add(name);
    if (name === 'properties.__proto__') {
      // A JSON body refuses this key too; on an object it would set the prototype and be lost.
      details.push({ path: `header.${name}`, message: 'is not an allowed property name' });
    } else if (
      !CSV_COLUMNS.includes(name) &&
      name !== 'occurredAt' &&
      name !== 'receivedAt' &&
      !(name.startsWith('properties.') && name.length > 11)
    ) {
      details.push({
        path: `header.${name}`,
        message: `is not a known column (${CSV_COLUMNS.join(', ')}, properties.<key>, or those of /api/export)`,
      });
    }
  }
  for (const name of REQUIRED_COLUMNS) {
    if (!header.includes(name)) details.push({ path: `header.${name}`, message: 'is a required column' });
  }
  if (details.length > 0) throw new CsvHeaderError(details);
  return header;
}

// The export's formula protection: a leading apostrophe before = + - @ tab or CR.
const PROTECTED = /^'[=+\-@\t\r]/;

/**
 * A CSV row as an input object: empty cells are absent, `properties.x` columns go to properties.
 * `exported`: the file is an /api/export CSV, whose formula protection is undone (a text cell
 * starting with an apostrophe and then = + - @ tab or CR loses the apostrophe).
 */
export function rowToInput(
  row: Record<string, string>,
  exported = false,
): { value: Record<string, unknown> } | { errors: ErrorDetail[] } {
  const value: Record<string, unknown> = {};
  let properties: Record<string, unknown> | undefined;
  for (const [key, text] of Object.entries(row)) {
    if (text === '' || text === undefined) continue;
    const cell = exported && key !== 'properties' && PROTECTED.test(text) ? text.slice(1) : text;
    if (key === 'properties') {
      try {
        const parsed = sjson.parse(cell, undefined, { protoAction: 'error', constructorAction: 'error' });
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          throw new Error('not an object');
        properties = { ...parsed, ...properties };
      } catch {
        return { errors: [{ path: 'properties', message: 'must be a JSON object' }] };
      }
    } else if (key.startsWith('properties.')) {
      properties ??= {};
      properties[key.slice(11)] = cell;
    } else value[key] = cell;
  }
  if (properties) value.properties = properties;
  return { value };
}

/**
 * The file's bytes in steps, each checked to be UTF-8 before it is passed on (csv-parse would store
 * other bytes as U+FFFD): a 400 that says how far the file was read.
 */
async function* utf8Steps(source: ByteSource): AsyncGenerator<Buffer> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let offset = 0;
  try {
    for await (const step of steps(source)) {
      decoder.decode(step, { stream: true });
      yield step;
      offset += step.length;
    }
    decoder.decode();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw new HttpError(400, 'INVALID_UTF8', `the file is not valid UTF-8 text (after byte ${offset})`, [
      { path: 'body', message: 'contains bytes that are not UTF-8' },
    ]);
  }
}

/** What the CSV parser hands on: a row, or a row it refused (wrong number of cells, bad quoting, too long). */
type CsvOutput =
  | { record: Record<string, string>; info: { lines: number } }
  | { line: number; refused: string };

/**
 * CSV with a header row (RFC 4180 quoting, BOM tolerated). Values are strings, so properties read
 * from `properties.<key>` columns are strings; a `properties` column may hold a JSON object instead.
 * A row with the wrong number of cells is reported and skipped.
 */
export async function* csvItems(source: ByteSource, maxBytes: number): AsyncGenerator<ImportItem> {
  let exported = false;
  const parser = parseCsv({
    bom: true,
    columns: (header: string[]) => {
      exported = header.includes('user_id') && header.includes('occurred_at');
      return checkHeader(header);
    },
    skip_empty_lines: true,
    max_record_size: maxBytes,
    info: true,
    skip_records_with_error: true,
    // NOTE: a refused row goes down the parser's output as rows do, in the file's order, so that it
    // fills the output and holds the input back like one: kept aside, a file of refused rows only
    // was read to its end into memory before the first one was reported.
    on_skip: (error) => {
      if (!error) return undefined;
      const line = (error as { lines?: number }).lines ?? 0;
      parser.push({ line, refused: error.message } satisfies CsvOutput);
      return undefined;
    },
  });
  // pipeline() destroys both sides when either fails or the consumer stops early.
  pipeline(Readable.from(utf8Steps(source)), parser, () => {});
  for await (const out of parser as AsyncIterable<CsvOutput>) {
    if ('refused' in out) {
      yield {
        line: out.line,
        reason: 'unparseable',
        errors: [{ path: '', message: `is not a valid CSV row: ${out.refused}` }],
      };
      continue;
    }
    const row = rowToInput(out.record, exported);
    if ('errors' in row) yield { line: out.info.lines, reason: 'schema', errors: row.errors };
    else yield { line: out.info.lines, value: row.value };
  }
}
