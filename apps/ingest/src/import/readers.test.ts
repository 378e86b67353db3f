import { describe, expect, it } from 'vitest';
import {
  CsvHeaderError,
  csvItems,
  fromExport,
  type ImportItem,
  JsonArraySplitter,
  jsonArrayItems,
  ndjsonItems,
  rowToInput,
  STEP_BYTES,
  steps,
} from './readers.js';

/** The text cut into pieces of `size` bytes, as a socket would deliver it. */
async function* chunks(text: string | Buffer, size: number) {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function collect(items: AsyncIterable<ImportItem>): Promise<ImportItem[]> {
  const out: ImportItem[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const values = (items: ImportItem[]) =>
  items.map((i) => ('value' in i ? i.value : { line: i.line, error: i.errors[0]?.message }));

describe('NDJSON', () => {
  const text = '\uFEFF{"a":1}\r\n\n  \n{"b":"é,\\n]"}\nnot json\n{"c":true}';

  it.each([1, 2, 3, 7, 1024])('splits lines the same whatever the chunk size (%i bytes)', async (size) => {
    const items = await collect(ndjsonItems(chunks(text, size), 100));
    expect(items.map((i) => i.line)).toEqual([1, 4, 5, 6]);
    expect(values(items)).toEqual([
      { a: 1 },
      { b: 'é,\n]' },
      { line: 5, error: expect.stringMatching(/^is not valid JSON/) },
      { c: true },
    ]);
  });

  it('reports an over-long line without keeping it, and goes on', async () => {
    const long = `{"x":"${'y'.repeat(500)}"}`;
    const items = await collect(ndjsonItems(chunks(`{"a":1}\n${long}\n{"b":2}\n`, 64), 100));
    expect(items).toMatchObject([
      { line: 1, value: { a: 1 } },
      { line: 2, reason: 'too_large' },
      { line: 3, value: { b: 2 } },
    ]);
  });

  it('refuses prototype poisoning', async () => {
    const [item] = await collect(ndjsonItems(chunks('{"__proto__":{"admin":true}}\n', 8), 100));
    expect(item).toMatchObject({ line: 1, reason: 'unparseable' });
  });

  it('refuses a line that is not UTF-8 or holds an escaped lone surrogate, as the JSON routes do', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"a":"ok é"}\n{"b":"a'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('b"}\n{"p":{"k":"\\ud800"}}\n{"pair":"\\ud83d\\ude00"}\n'),
    ]);
    for (const size of [1, 3, 1024]) {
      const items = await collect(ndjsonItems(chunks(bytes, size), 100));
      expect(items).toEqual([
        { line: 1, value: { a: 'ok é' }, bytes: 13 },
        { line: 2, reason: 'unparseable', errors: [{ path: '', message: 'is not valid UTF-8 text' }] },
        {
          line: 3,
          reason: 'unparseable',
          errors: [{ path: 'p.k', message: 'contains an unpaired UTF-16 surrogate' }],
        },
        { line: 4, value: { pair: '😀' }, bytes: 23 },
      ]);
    }
  });
});

describe('JSON array', () => {
  const text = '\uFEFF[\n  {"a":"x]}{,\\"y"},\n  {"b":[1,{"c":2}]} ,\n  3, "s", null,\n  {"d":\n1}\n]\n';

  it.each([1, 2, 5, 13, 4096])(
    'splits elements the same whatever the chunk size (%i bytes)',
    async (size) => {
      const items = await collect(jsonArrayItems(chunks(text, size), 1000));
      expect(values(items)).toEqual([{ a: 'x]}{,"y' }, { b: [1, { c: 2 }] }, 3, 's', null, { d: 1 }]);
      expect(items.map((i) => i.line)).toEqual([2, 3, 4, 4, 4, 5]);
    },
  );

  it('reports an element that is too large and keeps going', async () => {
    const big = `{"x":"${'y'.repeat(300)}"}`;
    const items = await collect(jsonArrayItems(chunks(`[{"a":1},${big},{"b":2}]`, 16), 100));
    expect(items).toMatchObject([{ value: { a: 1 } }, { reason: 'too_large' }, { value: { b: 2 } }]);
  });

  it('reports an invalid element and keeps going', async () => {
    const items = await collect(jsonArrayItems(chunks('[{"a":1},{"a":tru},{"b":2}]', 4), 100));
    expect(items).toMatchObject([{ value: { a: 1 } }, { reason: 'unparseable' }, { value: { b: 2 } }]);
  });

  it.each([
    ['{"a":1}', 'must start with ['],
    ['[{"a":1} {"b":2}]', 'expected , or ]'],
    ['[{"a":1},]', 'expected a value'],
    ['[,{"a":1}]', 'expected a value'],
    ['[{"a":1}] x', 'after the closing ]'],
    ['[{"a":1},{"b":', 'not closed'],
    ['', 'empty'],
  ])('stops at a structural error in %j', async (input, message) => {
    const items = await collect(jsonArrayItems(chunks(input, 3), 100));
    const last = items.at(-1)!;
    expect(last).toMatchObject({ fatal: true, reason: 'unparseable' });
    expect('errors' in last && last.errors[0]!.message).toContain(message);
  });

  it('takes an empty array as no items', async () => {
    expect(await collect(jsonArrayItems(chunks(' [ ] ', 2), 100))).toEqual([]);
  });

  it('holds at most the element in progress', () => {
    const splitter = new JsonArraySplitter(1_000_000);
    expect(splitter.push(Buffer.from('[{"a":'))).toEqual([]);
    expect(splitter.push(Buffer.from('1},{"b"'))).toMatchObject([{ value: { a: 1 } }]);
    expect(splitter.push(Buffer.from(':2}]'))).toMatchObject([{ value: { b: 2 } }]);
    expect(splitter.end()).toEqual([]);
  });
});

describe('CSV', () => {
  it('maps a header row to fields and properties.<key> columns, skipping empty cells', async () => {
    const csv =
      '\uFEFFuserId,action,page,role,properties.plan,properties.seats,sessionId\r\nu1,click,/a,admin,pro,3,\r\n"u,2",page_view,"/b?x=""1""",,,,s-1\r\n';
    const items = await collect(csvItems(chunks(csv, 7), 1000));
    expect(items).toEqual([
      {
        line: 2,
        value: {
          userId: 'u1',
          action: 'click',
          page: '/a',
          role: 'admin',
          properties: { plan: 'pro', seats: '3' },
        },
      },
      { line: 3, value: { userId: 'u,2', action: 'page_view', page: '/b?x="1"', sessionId: 's-1' } },
    ]);
  });

  it('reports a row with the wrong number of cells and goes on', async () => {
    const items = await collect(
      csvItems(chunks('userId,action,page\nu1,click,/a\nu2,click\nu3,click,/c\n', 5), 1000),
    );
    expect(items).toMatchObject([
      { line: 2, value: { userId: 'u1' } },
      { line: 3, reason: 'unparseable' },
      { line: 4, value: { userId: 'u3' } },
    ]);
  });

  it('refuses an unknown or missing column before reading any row', async () => {
    const attempt = collect(csvItems(chunks('userId,action,colour\nu1,click,red\n', 100), 1000));
    await expect(attempt).rejects.toBeInstanceOf(CsvHeaderError);
    await attempt.catch((error: CsvHeaderError) => {
      expect(error.details.map((d) => d.path)).toEqual(['header.colour', 'header.page']);
    });
  });

  it('refuses a repeated column and properties.__proto__ (it would set the prototype and be lost)', async () => {
    const attempt = collect(
      csvItems(chunks('userId,action,page,page,properties.__proto__\nu1,click,/a,/b,x\n', 100), 1000),
    );
    await expect(attempt).rejects.toBeInstanceOf(CsvHeaderError);
    await attempt.catch((error: CsvHeaderError) => {
      expect(error.details).toEqual([
        { path: 'header.page', message: 'appears twice (which one holds the value?)' },
        { path: 'header.properties.__proto__', message: 'is not an allowed property name' },
      ]);
    });
  });

  it('refuses bytes that are not UTF-8 instead of storing U+FFFD', async () => {
    const bytes = Buffer.concat([
      Buffer.from('userId,action,page\nu1,click,/a\nu2,click,/'),
      Buffer.from([0xc3, 0x28]),
    ]);
    const attempt = collect(csvItems(chunks(bytes, 4), 1000));
    await expect(attempt).rejects.toMatchObject({ statusCode: 400, code: 'INVALID_UTF8' });
    // A character split across chunks is fine.
    const split = await collect(csvItems(chunks('userId,action,page\nü,click,/é\n', 1), 1000));
    expect(values(split)).toEqual([{ userId: 'ü', action: 'click', page: '/é' }]);
  });

  it('reads a properties column as a JSON object', () => {
    expect(rowToInput({ userId: 'u', properties: '{"a":1,"b":true}' })).toEqual({
      value: { userId: 'u', properties: { a: 1, b: true } },
    });
    expect(rowToInput({ userId: 'u', properties: '[1]' })).toEqual({
      errors: [{ path: 'properties', message: 'must be a JSON object' }],
    });
  });

  it('reads a file of /api/export as it is: its CSV header, formula protection undone', async () => {
    const csv =
      'event_id,occurred_at,received_at,user_id,role,action,page,session_id,properties\r\n' +
      `8d6b2c9e-0c4c-4b8e-9d51-3f7f2a2f0a11,2026-11-01T10:00:00.123Z,2026-11-01T10:00:01.000Z,'-user,ADMIN,click,'=page,,"{""plan"":""pro""}"\r\n`;
    const items = await collect(csvItems(chunks(csv, 7), 1000));
    expect(values(items)).toEqual([
      {
        eventId: '8d6b2c9e-0c4c-4b8e-9d51-3f7f2a2f0a11',
        occurredAt: '2026-11-01T10:00:00.123Z',
        receivedAt: '2026-11-01T10:00:01.000Z',
        userId: '-user',
        role: 'ADMIN',
        action: 'click',
        page: '=page',
        properties: { plan: 'pro' },
      },
    ]);
    // A file of input columns keeps a leading apostrophe: it is data there.
    expect(values(await collect(csvItems(chunks("userId,action,page\n'-u,click,/\n", 5), 1000)))).toEqual([
      { userId: "'-u", action: 'click', page: '/' },
    ]);
  });

  it('takes an exported item as input: occurredAt is the time, receivedAt dropped, nulls absent', () => {
    const exported = {
      eventId: 'e',
      userId: 'u',
      role: 'GUEST',
      action: 'a',
      page: '/',
      occurredAt: '2026-11-26T17:15:15.339Z',
      receivedAt: '2026-11-26T16:15:15.339Z',
      properties: {},
      sessionId: null,
    };
    expect(fromExport(exported)).toEqual({
      eventId: 'e',
      userId: 'u',
      role: 'GUEST',
      action: 'a',
      page: '/',
      timestamp: '2026-11-26T17:15:15.339Z',
      properties: {},
    });
    // Input that is not an export is passed on untouched; a timestamp that disagrees is not overwritten.
    const input = { userId: 'u', action: 'a', page: '/' };
    expect(fromExport(input)).toBe(input);
    expect(fromExport({ ...input, timestamp: 'x', occurredAt: 'y' })).toEqual({
      ...input,
      timestamp: 'x',
      occurredAt: 'y',
    });
  });
});

describe('refused items: reported as they come, memory bounded whatever their number', () => {
  /**
   * A header, then 64 KB blocks of refused rows (one cell where the header names three) that never
   * end; `pulled` counts the bytes read. Throws past `limit`, so a reader that keeps refusals aside
   * until a valid row comes fails here instead of running out of memory.
   */
  async function* endlessRefusedRows(pulled: { bytes: number }, limit = 8 * 1024 * 1024) {
    yield Buffer.from('userId,action,page\n');
    const block = Buffer.from('x\n'.repeat(32 * 1024));
    for (;;) {
      if (pulled.bytes > limit) throw new Error(`the reader read ${pulled.bytes} bytes and yielded nothing`);
      pulled.bytes += block.length;
      yield block;
    }
  }

  it('CSV: yields refused rows before the source ends, reading only as far as they are taken', async () => {
    const pulled = { bytes: 0 };
    const taken: ImportItem[] = [];
    for await (const item of csvItems(endlessRefusedRows(pulled), 1000)) {
      taken.push(item);
      if (taken.length === 100_000) break;
    }
    expect(taken[0]).toEqual({
      line: 2,
      reason: 'unparseable',
      errors: [
        {
          path: '',
          message: expect.stringMatching(/^is not a valid CSV row: .*length is 3, got 1 on line 2$/),
        },
      ],
    });
    expect(taken.every((item, k) => item.line === k + 2 && 'errors' in item)).toBe(true);
    // The rows taken are 200 KB of the file; the rest of what was read is what the buffers between
    // the source and the parser's output hold (back-pressure), not the file.
    expect(pulled.bytes).toBeLessThan(200 * 1024 + 1024 * 1024);
  });

  it('CSV: refused and valid rows come in the file order, from a chunk of any size', async () => {
    const csv = `userId,action,page\nu1,click,/a\nbad\n${'x,y\n'.repeat(3)}u2,click,/b\n"open,click,/c\n`;
    for (const size of [1, 7, csv.length]) {
      const items = await collect(csvItems(chunks(csv, size), 1000));
      expect(items.map((i) => [i.line, 'value' in i])).toEqual([
        [2, true],
        [3, false],
        [4, false],
        [5, false],
        [6, false],
        [7, true],
        [8, false],
      ]);
    }
  });

  it('NDJSON and JSON array: refused items are yielded before the source ends', async () => {
    async function* endless(head: string, block: string, pulled: { bytes: number }) {
      yield Buffer.from(head);
      const buf = Buffer.from(block.repeat(16 * 1024));
      for (;;) {
        if (pulled.bytes > 8 * 1024 * 1024) throw new Error('the reader yielded nothing');
        pulled.bytes += buf.length;
        yield buf;
      }
    }
    for (const [items, what] of [
      [(p: { bytes: number }) => ndjsonItems(endless('', 'x\n', p), 1000), 'ndjson'],
      [(p: { bytes: number }) => jsonArrayItems(endless('[', '1,', p), 1000), 'json'],
    ] as const) {
      const pulled = { bytes: 0 };
      let n = 0;
      for await (const item of items(pulled)) {
        expect('errors' in item || typeof item.value === 'number', what).toBe(true);
        if (++n === 50_000) break;
      }
      expect(pulled.bytes, what).toBeLessThan(1024 * 1024);
    }
  });

  it('takes a large chunk in steps of at most STEP_BYTES (a step makes its items at once)', async () => {
    const big = Buffer.alloc(STEP_BYTES * 3 + 5, 'a');
    const out: Buffer[] = [];
    for await (const step of steps(chunks(big, big.length))) out.push(step);
    expect(out.map((b) => b.length)).toEqual([STEP_BYTES, STEP_BYTES, STEP_BYTES, 5]);
    expect(Buffer.concat(out).equals(big)).toBe(true);
  });

  it('numbers lines from firstLine', async () => {
    const nd = await collect(ndjsonItems(chunks('{"a":1}\n\nx\n', 3), 100, 5));
    expect(nd.map((i) => i.line)).toEqual([5, 7]);
    const arr = await collect(jsonArrayItems(chunks('[1,\n2]', 3), 100, 5));
    expect(arr.map((i) => i.line)).toEqual([5, 6]);
  });
});
