import { describe, expect, it } from 'vitest';
import { PeriodicTask } from './periodic-task.js';

describe('PeriodicTask', () => {
  it('joins a tick to the run under way, and stop waits for it', async () => {
    let runs = 0;
    let release!: () => void;
    const task = new PeriodicTask(60_000, async () => {
      runs += 1;
      await new Promise<void>((r) => {
        release = r;
      });
    });
    const first = task.tick();
    const second = task.tick();
    expect(second).toBe(first);
    expect(runs).toBe(1);
    let stopped = false;
    const stopping = task.stop().then(() => {
      stopped = true;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
    const again = task.tick(); // a later tick is a new run
    expect(again).not.toBe(first);
    expect(runs).toBe(2);
    release();
    await again;
  });

  it('runs every interval once started, until stopped', async () => {
    let runs = 0;
    const task = new PeriodicTask(20, async () => {
      runs += 1;
    });
    task.start();
    task.start(); // idempotent: one timer
    await new Promise((r) => setTimeout(r, 110));
    await task.stop();
    const seen = runs;
    expect(seen).toBeGreaterThanOrEqual(3);
    expect(seen).toBeLessThanOrEqual(6);
    await new Promise((r) => setTimeout(r, 60));
    expect(runs).toBe(seen);
  });
});
