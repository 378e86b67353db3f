import { describe, expect, it } from 'vitest';
import { WindowCounter } from './window-counter.js';

describe('WindowCounter.subtract', () => {
  it('takes back from the live window, never below 0, and nothing from an ended one', () => {
    const c = new WindowCounter({ windowMs: 1000, maxTracked: 10 });
    c.add('k', 5, 0);
    c.subtract('k', 2, 100);
    expect(c.count('k', 100)).toBe(3);
    c.subtract('k', 9, 100);
    expect(c.count('k', 100)).toBe(0);
    c.add('k', 4, 200);
    c.subtract('k', 4, 1500); // the window ended at 1000: a new one is not touched
    expect(c.add('k', 1, 1500)).toBe(1);
  });
});
