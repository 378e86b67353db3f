import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBaseApp, plainJson, type TrackerApp } from './index.js';

let app: TrackerApp;

beforeAll(async () => {
  app = await createBaseApp({ service: 'test', logLevel: 'silent', docs: { title: 't', description: 'd' } });
  app.post(
    '/thing',
    {
      schema: {
        body: Type.Object({
          name: Type.String(),
          tags: Type.Optional(Type.Record(Type.String(), Type.String())),
        }),
      },
    },
    async (request) => request.body,
  );
  app.get(
    '/find',
    { schema: { querystring: Type.Object({ q: Type.Optional(Type.String()) }) } },
    async (request) => ({
      q: request.query.q ?? null,
    }),
  );
  await app.ready();
});
afterAll(async () => app.close());

const post = (body: Buffer | string) =>
  app.inject({
    method: 'POST',
    url: '/thing',
    headers: { 'content-type': 'application/json' },
    payload: body,
  });

describe('strict text input', () => {
  it('refuses a JSON body with bytes that are not UTF-8, instead of storing U+FFFD', async () => {
    for (const bad of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82]]) {
      const res = await post(Buffer.concat([Buffer.from('{"name":"a'), Buffer.from(bad), Buffer.from('"}')]));
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({
        status: 400,
        code: 'INVALID_UTF8',
        message: 'body is not valid UTF-8 text: contains bytes that are not UTF-8',
        details: [{ path: 'body', message: 'contains bytes that are not UTF-8' }],
      });
    }
  });

  it('refuses escaped lone surrogates and names where they are', async () => {
    const value = await post('{"name":"ok","tags":{"k":"x\\ud800"}}');
    expect(value.statusCode).toBe(400);
    expect(value.json().details).toEqual([
      { path: 'body', message: 'body.tags.k contains an unpaired UTF-16 surrogate' },
    ]);
    const key = await post('{"name":"ok","tags":{"\\udc00":"x"}}');
    expect(key.statusCode).toBe(400);
    expect(key.json().code).toBe('INVALID_UTF8');
  });

  it('accepts well-formed text: multi-byte characters and escaped surrogate pairs', async () => {
    const res = await post('{"name":"Zoë 😀 \\ud83d\\ude00","tags":{"ключ":"值"}}');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ name: 'Zoë 😀 😀', tags: { ключ: '值' } });
  });

  it('still refuses __proto__ and constructor.prototype, and empty or broken JSON', async () => {
    for (const body of [
      '{"name":"a","__proto__":{"x":1}}',
      '{"name":"a","constructor":{"prototype":{"x":1}}}',
    ]) {
      expect((await post(body)).json()).toMatchObject({
        status: 400,
        code: 'INVALID_JSON',
        message: 'body has a __proto__ or constructor.prototype key, which is refused',
        details: [{ path: 'body', message: 'has a forbidden key (__proto__ or constructor.prototype)' }],
      });
    }
    expect((await post('')).json()).toMatchObject({ status: 400, code: 'EMPTY_BODY' });
    expect((await post('{"name":')).json()).toMatchObject({ status: 400, code: 'INVALID_JSON' });
    // JSON.parse's own reason, not Fastify's "…content-type is set to 'application/json'" (a beacon
    // sends text/plain).
    expect((await post('garbage')).json()).toEqual({
      status: 400,
      code: 'INVALID_JSON',
      message: expect.stringMatching(/^body is not valid JSON: Unexpected token/),
      details: [{ path: 'body', message: expect.stringMatching(/^is not valid JSON: Unexpected token/) }],
    });
  });

  it('refuses __proto__ and constructor spelled with escapes, which the plain-text fast path cannot see', async () => {
    for (const body of [
      '{"name":"a","\\u005f_proto__":{"x":1}}',
      '{"name":"a","\\u005f\\u005fproto\\u005f\\u005f":{"x":1}}',
      '{"name":"a","\\u0063onstructor":{"prototype":{"x":1}}}',
    ]) {
      expect((await post(body)).json(), body).toMatchObject({ status: 400, code: 'INVALID_JSON' });
    }
    // The same text in a value is data, not a key: accepted, as the full parser accepts it.
    const res = await post('{"name":"__proto__ and constructor"}');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ name: '__proto__ and constructor' });
  });

  it("accepts a body that starts with a byte order mark, as Fastify's parser does", async () => {
    const res = await post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":"bom"}')]));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ name: 'bom' });
  });

  it('refuses a query string whose escapes are not UTF-8, and decodes good ones', async () => {
    const bad = await app.inject({ method: 'GET', url: '/find?q=%ff%fe' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({
      status: 400,
      code: 'INVALID_UTF8',
      details: [{ path: 'querystring' }],
    });
    expect((await app.inject({ method: 'GET', url: '/find?q=%zz' })).statusCode).toBe(400);
    const good = await app.inject({ method: 'GET', url: `/find?q=${encodeURIComponent("Zoë ' OR 1=1")}` });
    expect(good.json()).toEqual({ q: "Zoë ' OR 1=1" });
  });

  it('refuses a NUL (%00) in a query parameter, naming it (PostgreSQL text cannot hold one)', async () => {
    for (const url of ['/find?q=a%00b', '/find?x=1&q=%00', '/find?q%00=1']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: [
          {
            path: url.endsWith('%00=1') ? 'querystring.q\\0' : 'querystring.q',
            message: 'contains a NUL character (%00)',
          },
        ],
      });
    }
    expect((await app.inject({ method: 'GET', url: '/find?q=a%2500b' })).json()).toEqual({ q: 'a%00b' });
  });

  it('answers a URL it cannot decode in the common shape', async () => {
    const res = await app.inject({ method: 'GET', url: '/find/%ff' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ status: 400, code: 'BAD_URL', details: [] });
  });
});

describe('numbers from the query string', () => {
  it('refuses Infinity where an integer is expected, even though the coercion lets it through', async () => {
    const limited = await createBaseApp({
      service: 'test',
      logLevel: 'silent',
      docs: { title: 't', description: 'd' },
    });
    limited.get(
      '/page',
      {
        schema: {
          querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }),
        },
      },
      async (request) => ({ limit: request.query.limit ?? null }),
    );
    await limited.ready();
    try {
      for (const value of ['Infinity', '-Infinity', '%2BInfinity']) {
        const res = await limited.inject({ method: 'GET', url: `/page?limit=${value}` });
        expect(res.statusCode, value).toBe(400);
        expect(res.json()).toEqual({
          status: 400,
          code: 'VALIDATION_FAILED',
          message: 'invalid querystring',
          details: [{ path: 'querystring.limit', message: 'must be a finite number' }],
        });
      }
      expect((await limited.inject({ method: 'GET', url: '/page?limit=20' })).json()).toEqual({ limit: 20 });
    } finally {
      await limited.close();
    }
  });
});

describe("plainJson (the strict parser's fast path)", () => {
  it('parses text that holds no escape, __proto__ or constructor', () => {
    expect(plainJson('{"events":[{"a":1,"b":"Zoë 😀"}]}')).toEqual({ events: [{ a: 1, b: 'Zoë 😀' }] });
    expect(plainJson('null')).toBeNull();
  });

  it('leaves everything else to the full parser', () => {
    for (const text of [
      '{"__proto__":{}}',
      '{"a":"constructor"}',
      '{"a":"\\u0041"}',
      '{"a":',
      '',
      '\ufeff{"a":1}',
    ]) {
      expect(plainJson(text), text).toBeUndefined();
    }
  });
});
