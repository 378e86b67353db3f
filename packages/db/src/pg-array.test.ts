import { describe, expect, it } from 'vitest';
import { booleanArray, numberArray, textArray } from './pg-array.js';

describe('pg array literals', () => {
  it('quotes every text element and escapes quotes and backslashes', () => {
    expect(textArray(['a', '', 'NULL', null, 'x,y', '{b}', 'say "hi"', 'c:\\dir', 'é 🙂'])).toBe(
      '{"a","","NULL",NULL,"x,y","{b}","say \\"hi\\"","c:\\\\dir","é 🙂"}',
    );
    expect(textArray([])).toBe('{}');
    expect(textArray([undefined])).toBe('{NULL}');
  });

  it('writes numbers and integer strings as they are, and refuses anything else', () => {
    expect(numberArray([1, -2, 1764547200000, '9007199254740993'])).toBe(
      '{1,-2,1764547200000,9007199254740993}',
    );
    expect(() => numberArray([Number.NaN])).toThrow(/NaN/);
    expect(() => numberArray(['1; DROP TABLE x'])).toThrow(/not a finite number/);
  });

  it('writes booleans as t and f', () => {
    expect(booleanArray([true, false])).toBe('{t,f}');
  });
});
