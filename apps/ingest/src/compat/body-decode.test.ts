import { gzipSync } from 'node:zlib';
import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { decodeCompatBody } from './body-decode.js';

const request = (type: string, query: Record<string, string> = {}) =>
  ({ headers: { 'content-type': type }, query }) as unknown as FastifyRequest;
const json = '{"batch":[{"event":"x"}]}';

describe('decodeCompatBody', () => {
  it('passes JSON through, and gunzips a body that starts with the gzip magic bytes whatever its type', () => {
    expect(decodeCompatBody(request('text/plain'), Buffer.from(json), 1000).toString()).toBe(json);
    expect(decodeCompatBody(request('text/plain'), gzipSync(json), 1000).toString()).toBe(json);
    expect(decodeCompatBody(request('application/json'), gzipSync(json), 1000).toString()).toBe(json);
  });

  it('reads data= base64 forms (with or without ?compression=base64), and JSON under a form type', () => {
    const form = `data=${encodeURIComponent(Buffer.from(json).toString('base64'))}`;
    const type = 'application/x-www-form-urlencoded';
    expect(
      decodeCompatBody(request(type, { compression: 'base64' }), Buffer.from(form), 1000).toString(),
    ).toBe(json);
    expect(decodeCompatBody(request(type), Buffer.from(form), 1000).toString()).toBe(json);
    expect(
      decodeCompatBody(request(type), Buffer.from(`data=${encodeURIComponent(json)}`), 1000).toString(),
    ).toBe(json);
    expect(decodeCompatBody(request(type), Buffer.from(json), 1000).toString()).toBe(json);
    const gz = `data=${encodeURIComponent(gzipSync(json).toString('base64'))}`;
    expect(
      decodeCompatBody(request(type, { compression: 'gzip-js' }), Buffer.from(gz), 1000).toString(),
    ).toBe(json);
  });

  it('holds what a body decodes to within the limit (413), refuses bad gzip or base64 (400) and lz64 (415)', () => {
    const status = (fn: () => unknown) => {
      try {
        fn();
        return 0;
      } catch (error) {
        return (error as { statusCode: number }).statusCode;
      }
    };
    expect(status(() => decodeCompatBody(request('text/plain'), gzipSync(' '.repeat(5000)), 1000))).toBe(413);
    expect(status(() => decodeCompatBody(request('text/plain'), Buffer.from(' '.repeat(1001)), 1000))).toBe(
      413,
    );
    expect(status(() => decodeCompatBody(request('text/plain'), Buffer.from([0x1f, 0x8b, 1, 2]), 1000))).toBe(
      400,
    );
    const type = 'application/x-www-form-urlencoded';
    expect(
      status(() => decodeCompatBody(request(type, { compression: 'base64' }), Buffer.from('data=%%%'), 1000)),
    ).toBe(400);
    expect(
      status(() => decodeCompatBody(request(type, { compression: 'lz64' }), Buffer.from('data=abc'), 1000)),
    ).toBe(415);
  });
});
