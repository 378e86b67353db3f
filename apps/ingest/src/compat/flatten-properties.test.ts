import { describe, expect, it } from 'vitest';
import { cutText, flattenProperties } from './flatten-properties.js';

describe('flattenProperties', () => {
  it('flattens nested objects to dotted keys, arrays and deep objects to JSON text, skips empties', () => {
    const { properties, dropped } = flattenProperties([
      {
        prefix: '',
        value: {
          plan: 'pro',
          n: 3,
          ok: true,
          none: null,
          empty: {},
          list: [],
          product: { sku: 'a', tags: ['x', 'y'] },
        },
      },
      { prefix: 'context.', value: { a: { b: { c: { d: { e: 1 } } } } } },
    ]);
    expect(properties).toEqual({
      plan: 'pro',
      n: 3,
      ok: true,
      'product.sku': 'a',
      'product.tags': '["x","y"]',
      'context.a.b.c.d': '{"e":1}', // four levels of keys, then JSON text
    });
    expect(dropped).toEqual([]);
  });

  it('cuts long text, drops unstorable text, long or repeated names and keys past the limit, reporting each', () => {
    const many = Object.fromEntries(Array.from({ length: 52 }, (_, i) => [`k${i}`, i]));
    const { properties, dropped } = flattenProperties([
      {
        prefix: '',
        value: {
          long: 'é'.repeat(1100),
          nul: 'a\u0000b',
          half: 'x\ud83d',
          ['n'.repeat(130)]: 1,
          'a.b': 1,
          a: { b: 2 },
        },
      },
      { prefix: '', value: many },
    ]);
    expect((properties.long as string).length).toBe(1024);
    expect(properties['a.b']).toBe(1);
    expect(Object.keys(properties)).toHaveLength(50);
    expect(dropped).toEqual(
      expect.arrayContaining([
        { path: 'long', message: 'truncated to 1024 characters' },
        { path: 'nul', message: 'contains a NUL character or half a surrogate pair' },
        { path: 'half', message: 'contains a NUL character or half a surrogate pair' },
        { path: 'n'.repeat(64), message: 'name is over 128 characters' },
        { path: 'a.b', message: 'repeats a name already taken' },
        { path: 'k51', message: 'is past the limit of 50 properties' },
      ]),
    );
    // `long` and `a.b` from the first source, then k0…k47: k48…k51 are past the limit
    expect(dropped.filter((d) => d.message.startsWith('is past'))).toHaveLength(4);
  });

  it('rewrites string values through the transform (URL privacy)', () => {
    const { properties } = flattenProperties([{ prefix: '', value: { url: 'u' } }], (k, v) => `${k}:${v}`);
    expect(properties).toEqual({ url: 'url:u' });
  });

  it('never cuts a surrogate pair in two', () => {
    expect(cutText('ab😀', 3)).toBe('ab');
    expect(cutText('ab😀', 4)).toBe('ab😀');
  });
});
