import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { avroType } from './serde.js';

// patches/avsc@5.7.9.patch (pnpm patchedDependencies): Tap.writeString copies a short ASCII string in
// one pass and leaves every other string to Buffer's UTF-8 encoder (encoding an event: 1.5 → 0.9 µs,
// bench/scripts/measure-ingest-cpu.mjs). What it writes must be Avro's string encoding exactly: the
// byte length as a zig-zag varint, then the UTF-8 bytes.

/** The Avro spec's encoding of a string, written independently of avsc. */
function avroString(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const prefix: number[] = [];
  let n = bytes.length * 2; // zig-zag of a non-negative long
  while (n >= 0x80) {
    prefix.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  prefix.push(n);
  return Buffer.concat([Buffer.from(prefix), bytes]);
}

const strings = [
  '',
  'a',
  'page_view',
  'x'.repeat(63), // the longest string the one-pass copy takes
  'x'.repeat(64),
  'y'.repeat(200),
  'é', // non-ASCII: two bytes for one character
  `${'a'.repeat(40)}é`,
  'é'.repeat(63), // 126 bytes: the length still fits one byte
  'é'.repeat(64), // 128 bytes: a two-byte length
  '日本語のページ',
  '😀 emoji',
  '\u007f\u0080',
  `/docs/${'段'.repeat(30)}`,
];

describe('avsc patch: Tap.writeString', () => {
  it('is the patched function (the patch is installed)', () => {
    const require = createRequire(
      createRequire(import.meta.url).resolve('@kafkajs/confluent-schema-registry'),
    );
    const source = readFileSync(require.resolve('avsc/lib/utils.js'), 'utf8');
    expect(source).toContain('Patched (tracker)');
  });

  it('writes the Avro encoding of every kind of string, alone and between other fields', () => {
    const alone = avroType({ type: 'string' });
    const record = avroType({
      type: 'record',
      name: 'R',
      fields: [
        { name: 'a', type: 'string' },
        { name: 'b', type: 'string' },
        { name: 'm', type: { type: 'map', values: 'string' } },
      ],
    });
    for (const s of strings) {
      expect(alone.toBuffer(s).toString('hex'), s).toBe(avroString(s).toString('hex'));
      const value = { a: s, b: `${s}|${s.length}`, m: { [s]: s } };
      const encoded = record.toBuffer(value);
      expect(record.fromBuffer(encoded)).toEqual(value);
      const map = Buffer.concat([Buffer.from([2]), avroString(s), avroString(s), Buffer.from([0])]);
      expect(encoded.toString('hex')).toBe(
        Buffer.concat([avroString(s), avroString(`${s}|${s.length}`), map]).toString('hex'),
      );
    }
  });

  it('still reports a buffer too small, so the caller retries with a larger one', () => {
    const type = avroType({ type: 'string' });
    const small = Buffer.alloc(8);
    for (const s of ['abcdefghij', 'ééééé', 'x'.repeat(100)]) {
      expect(type.encode(s, small, 0), s).toBeLessThan(0);
      expect(type.encode(s, Buffer.alloc(256), 0)).toBe(avroString(s).length);
    }
  });
});
