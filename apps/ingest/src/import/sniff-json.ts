import type { ByteSource } from './readers.js';

const BOM = [0xef, 0xbb, 0xbf];
const NL = 0x0a;
const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === NL || c === 0x0d;

export interface SniffedJson {
  /** `ndjson` when the first value is an object (NDJSON sent as application/json), else `json`. */
  format: 'json' | 'ndjson';
  /** The file from its first significant chunk on, as the readers would read the whole file. */
  source: ByteSource;
  /** The number of the first line `source` starts on (the dropped whitespace held line breaks). */
  firstLine: number;
}

/**
 * `json` may be a JSON array or, when the first value is an object, NDJSON sent as application/json:
 * reads up to the first significant byte and replays from the chunk that holds it.
 * NOTE: chunks of whitespace only are dropped as they come, so what is held while looking is one
 * chunk however much whitespace leads the file. What the readers would see of them is replayed in
 * bounded form: the line breaks as `firstLine`, a byte-order mark on the first line, and the first
 * line's leading whitespace up to `maxBytes` + 1 bytes (an NDJSON line longer than the readers'
 * `maxBytes` stays too long; the rest is the same whitespace JSON skips).
 */
export async function sniffJson(source: ByteSource, maxBytes: number): Promise<SniffedJson> {
  const iterator = source[Symbol.asyncIterator]();
  let offset = 0; // bytes read so far
  let bom = 0; // leading bytes of the file that match the byte-order mark
  // What the dropped chunks held: BOM bytes, line breaks, whitespace after the last line break.
  let dropped = { bom: 0, lines: 0, spaces: 0 };
  let first: Buffer | undefined;
  let format: 'json' | 'ndjson' = 'json';
  while (first === undefined) {
    const next = await iterator.next();
    if (next.done) break;
    const buf = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    let { lines, spaces } = dropped;
    let i = 0;
    for (; i < buf.length; i++) {
      const c = buf[i]!;
      if (offset + i === bom && bom < BOM.length && c === BOM[bom]) bom += 1;
      else if (c === NL) {
        lines += 1;
        spaces = 0;
      } else if (isSpace(c)) spaces += 1;
      else break;
    }
    if (i < buf.length) {
      first = buf;
      format = buf[i] === 0x7b ? 'ndjson' : 'json';
    } else {
      dropped = { bom, lines, spaces };
      offset += buf.length;
    }
  }
  async function* replay(): ByteSource {
    if (dropped.bom > 0 && dropped.lines === 0) yield Buffer.from(BOM.slice(0, dropped.bom));
    if (dropped.spaces > 0) yield Buffer.alloc(Math.min(dropped.spaces, maxBytes + 1), 0x20);
    if (first === undefined) return;
    yield first;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { format, source: replay(), firstLine: 1 + dropped.lines };
}
