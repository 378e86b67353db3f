import { describe, expect, it } from 'vitest';
import { compatEventId, uuidV5 } from './event-id.js';

describe('compatEventId', () => {
  it('keeps a UUID (lower-cased) and derives a stable version-5 UUID from any other id', () => {
    expect(compatEventId('0192F0C6-1D2E-7A3B-8C4D-5E6F70819203')).toBe(
      '0192f0c6-1d2e-7a3b-8c4d-5e6f70819203',
    );
    const a = compatEventId('node-next-1764000000000-743be593-7789-4b74-8078-cbcc8894c586');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(compatEventId('node-next-1764000000000-743be593-7789-4b74-8078-cbcc8894c586')).toBe(a);
    expect(compatEventId('ajs-next-other')).not.toBe(a);
    expect(compatEventId(42)).toBe(compatEventId('42'));
  });

  it('gives a random id when there is none (such a message cannot be deduplicated)', () => {
    expect(compatEventId(undefined)).not.toBe(compatEventId(undefined));
  });

  it('is RFC 9562 version 5 (the RFC’s own example: DNS namespace, www.example.com)', () => {
    const dns = Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex');
    expect(uuidV5('www.example.com', dns)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });
});
