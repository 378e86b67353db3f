import { describe, expect, it } from 'vitest';
import { jsonArrayItems, ndjsonItems } from './readers.js';
import { sniffJson } from './sniff-json.js';

async function* chunks(text: string | Buffer, size: number) {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The items a sniffed source reads as, with the reader the route would pick. */
async function sniffedItems(source: AsyncIterable<Buffer>) {
  const sniffed = await sniffJson(source, 1000);
  const reader = sniffed.format === 'ndjson' ? ndjsonItems : jsonArrayItems;
  return { format: sniffed.format, items: await collect(reader(sniffed.source, 1000, sniffed.firstLine)) };
}

describe('sniffJson', () => {
  it.each([1, 2, 3, 5, 1024])(
    'reads what the reader would read from the whole file, line numbers included (%i-byte chunks)',
    async (size) => {
      const nd = '\uFEFF \n\r\n\t {"a":1}\n\nnot json\n{"b":2}';
      const arr = '\uFEFF\n\n  \n[\n{"a":1},\n  x,\n{"b":2}]';
      const sniffedNd = await sniffedItems(chunks(nd, size));
      expect(sniffedNd.format).toBe('ndjson');
      expect(sniffedNd.items).toEqual(await collect(ndjsonItems(chunks(nd, 1024), 1000)));
      expect(sniffedNd.items.map((i) => i.line)).toEqual([3, 5, 6]);
      const sniffedArr = await sniffedItems(chunks(arr, size));
      expect(sniffedArr.format).toBe('json');
      expect(sniffedArr.items).toEqual(await collect(jsonArrayItems(chunks(arr, 1024), 1000)));
      expect(sniffedArr.items.map((i) => i.line)).toEqual([5, 6, 7]);
    },
  );

  it('holds no chunk of whitespace only: replays from the chunk of the first significant byte', async () => {
    const pulled: Buffer[] = [];
    async function* source() {
      for (let i = 0; i < 10_000; i += 1) {
        const ws = Buffer.from(' \t\r\n'.repeat(256)); // a fresh 1 KB chunk each time, 256 line breaks
        pulled.push(ws);
        yield ws;
      }
      yield Buffer.from('  [1');
      yield Buffer.from(']');
    }
    const sniffed = await sniffJson(source(), 1000);
    expect(sniffed).toMatchObject({ format: 'json', firstLine: 1 + 10_000 * 256 });
    const replayed = await collect(sniffed.source);
    expect(replayed.map(String)).toEqual(['  [1', ']']);
    expect(pulled).toHaveLength(10_000);
  });

  it('replays a byte-order mark and leading spaces of the first line, bounded', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const replayed = async (parts: Buffer[]) => {
      const sniffed = await sniffJson(
        (async function* () {
          yield* parts;
        })(),
        10,
      );
      return {
        firstLine: sniffed.firstLine,
        bytes: Buffer.concat((await collect(sniffed.source)).map((c) => Buffer.from(c))),
      };
    };
    // A BOM split over chunks, on the first line: kept with the line's spaces.
    const head = [bom.subarray(0, 1), Buffer.concat([bom.subarray(1), Buffer.from('  ')])];
    expect(await replayed([...head, Buffer.from('{"a":1}')])).toEqual({
      firstLine: 1,
      bytes: Buffer.concat([bom, Buffer.from('  {"a":1}')]),
    });
    // On a blank first line it was skipped with the line: only the line break counts.
    expect(await replayed([...head, Buffer.from(' \n\t'), Buffer.from('[7]')])).toEqual({
      firstLine: 2,
      bytes: Buffer.from(' [7]'),
    });
    // Spaces leading the first line: at most maxBytes + 1, so an NDJSON line too long stays too long.
    const spaces = Array.from({ length: 300 }, () => Buffer.from('    '));
    expect(await replayed([...spaces, Buffer.from('{}')])).toEqual({
      firstLine: 1,
      bytes: Buffer.from(`${' '.repeat(11)}{}`),
    });
    const { items } = await sniffedItems(
      (async function* () {
        yield* spaces;
        yield Buffer.from('{}\n{"b":1}');
      })(),
    );
    expect(items).toMatchObject([
      { line: 1, reason: 'too_large' },
      { line: 2, value: { b: 1 } },
    ]);
  });

  it('reads an empty or blank file as JSON (and says it is empty, on the right line)', async () => {
    for (const text of ['', ' \n \n']) {
      const { format, items } = await sniffedItems(chunks(text, 2));
      expect(format).toBe('json');
      expect(items).toMatchObject([
        { line: text === '' ? 1 : 3, fatal: true, errors: [{ message: expect.stringContaining('empty') }] },
      ]);
    }
  });
});
