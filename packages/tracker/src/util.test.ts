import { ACTION_PATTERN, LIMITS } from '@tracker/schemas';
import { describe, expect, it } from 'vitest';
import {
  ACTION,
  cleanAction,
  cleanProperties,
  cut,
  MAX_KEY,
  MAX_PAGE,
  MAX_PROPERTIES,
  MAX_USER_ID,
  MAX_VALUE,
} from './util.js';

// The snippet ships without dependencies, so it repeats ingest's limits: they must stay equal, or
// the snippet would send what ingest refuses (or cut what ingest would take).
describe("the snippet's copy of ingest's limits", () => {
  it('equals packages/schemas', () => {
    expect({ MAX_PROPERTIES, MAX_KEY, MAX_VALUE, MAX_USER_ID, MAX_PAGE, ACTION: ACTION.source }).toEqual({
      MAX_PAGE: LIMITS.page,
      MAX_PROPERTIES: LIMITS.propertyKeys,
      MAX_KEY: LIMITS.propertyKey,
      MAX_VALUE: LIMITS.propertyValue,
      MAX_USER_ID: LIMITS.userId,
      ACTION: ACTION_PATTERN,
    });
  });

  it('cleans properties down to what ingest accepts', () => {
    const props: Record<string, unknown> = {
      long: 'x'.repeat(LIMITS.propertyValue + 10),
      ['k'.repeat(200)]: 1,
    };
    for (let i = 0; i < 60; i += 1) props[`p${i}`] = i;
    const out: Record<string, string | number | boolean> = {};
    cleanProperties(props, out);
    expect(Object.keys(out).length).toBeLessThanOrEqual(LIMITS.propertyKeys);
    expect((out.long as string).length).toBe(LIMITS.propertyValue);
    expect(Object.keys(out).every((k) => k.length <= LIMITS.propertyKey)).toBe(true);
    expect(cleanAction('Sign Up')).toBe('sign_up');
    expect(cleanAction('héllo')).toBeUndefined();
    expect(cleanAction('a'.repeat(65))).toBeUndefined();
  });
});

describe('cut', () => {
  it('never splits an emoji: ingest refuses half a surrogate pair, and the batch with it', () => {
    expect(cut('abc', 5)).toBe('abc');
    expect(cut('abcdef', 3)).toBe('abc');
    expect(cut('ab😀cd', 3)).toBe('ab'); // the cut fell inside 😀
    expect(cut('ab😀cd', 4)).toBe('ab😀');
    const long = `${'a'.repeat(1023)}😀`;
    const value = cleanProperties({ s: long }).s as string;
    expect(value).toBe('a'.repeat(1023));
    expect(value.charCodeAt(value.length - 1)).toBe(97); // 'a', not half of 😀
  });
});
