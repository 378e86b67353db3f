import { ACTION_PATTERN, LIMITS } from '@tracker/schemas';
import { describe, expect, it } from 'vitest';
import {
  ACTION,
  cleanAction,
  cleanProperties,
  MAX_KEY,
  MAX_PROPERTIES,
  MAX_USER_ID,
  MAX_VALUE,
} from './util.js';

// The snippet ships without dependencies, so it repeats ingest's limits: they must stay equal, or
// the snippet would send what ingest refuses (or cut what ingest would take).
describe("the snippet's copy of ingest's limits", () => {
  it('equals packages/schemas', () => {
    expect({ MAX_PROPERTIES, MAX_KEY, MAX_VALUE, MAX_USER_ID, ACTION: ACTION.source }).toEqual({
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
