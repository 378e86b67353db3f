import { describe, expect, it } from 'vitest';
import { StoreQueue } from './store-queue.js';

/** A job that records when it runs and finishes when released. */
function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

const tick = () => new Promise((r) => setTimeout(r, 5));
const noHeartbeat = async () => {};

describe('StoreQueue', () => {
  it('runs `width` jobs at once, a key’s jobs one after another in order', async () => {
    const q = new StoreQueue(2, (e) => {
      throw e;
    });
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const gates = new Map<string, ReturnType<typeof gate>>();
    const job = (name: string) => async () => {
      running += 1;
      most = Math.max(most, running);
      log.push(`start ${name}`);
      const g = gate();
      gates.set(name, g);
      await g.opened;
      log.push(`end ${name}`);
      running -= 1;
    };
    await q.add('p0', noHeartbeat, job('a1'));
    await q.add('p0', noHeartbeat, job('a2'));
    await q.add('p1', noHeartbeat, job('b1'));
    await q.add('p2', noHeartbeat, job('c1'));
    await tick();
    // a2 waits for a1 (same key) although a slot is free; b1 takes the second slot.
    expect(log).toEqual(['start a1', 'start b1']);
    gates.get('a1')!.open();
    await tick();
    // c1 has been waiting for a slot since it was added; a2 asks for one only now.
    expect(log.slice(2)).toEqual(['end a1', 'start c1']);
    gates.get('b1')!.open();
    await tick();
    expect(log.slice(4)).toEqual(['end b1', 'start a2']);
    gates.get('a2')!.open();
    gates.get('c1')!.open();
    await q.close();
    expect(most).toBe(2);
    expect(q.pending).toBe(0);
  });

  it('holds add() while as many jobs wait as run, heartbeating meanwhile', async () => {
    const q = new StoreQueue(1, () => {}, 10);
    const g = gate();
    let heartbeats = 0;
    const beat = async () => {
      heartbeats += 1;
    };
    expect(await q.add('p0', beat, () => g.opened)).toBe(true); // running
    expect(await q.add('p1', beat, async () => {})).toBe(true); // waiting: 2 = 2 × width
    let third = false;
    const adding = q
      .add('p2', beat, async () => {})
      .then((ok) => {
        third = ok;
      });
    await new Promise((r) => setTimeout(r, 60));
    expect(third).toBe(false);
    expect(heartbeats).toBeGreaterThanOrEqual(2);
    g.open();
    await adding;
    expect(third).toBe(true);
    await q.close();
  });

  it('after a failed job runs none of its key’s later jobs, and the other keys go on', async () => {
    const errors: unknown[] = [];
    const q = new StoreQueue(2, (e) => errors.push(e));
    const ran: string[] = [];
    await q.add('p0', noHeartbeat, async () => {
      throw new Error('boom');
    });
    await q.add('p0', noHeartbeat, async () => {
      ran.push('p0 later');
    });
    await q.add('p1', noHeartbeat, async () => {
      ran.push('p1');
    });
    await new Promise((r) => setTimeout(r, 10)); // p0's chain has drained
    // kafkajs reads on past queued batches: p0's next batch comes later and must not run either.
    await q.add('p0', noHeartbeat, async () => {
      ran.push('p0 after');
    });
    await q.close();
    expect(errors.map((e) => (e as Error).message)).toEqual(['boom']);
    expect(ran).toEqual(['p1']);
  });

  it('close() lets running jobs finish, drops the rest and refuses new ones', async () => {
    const q = new StoreQueue(1, (e) => {
      throw e;
    });
    const g = gate();
    const ran: string[] = [];
    await q.add('p0', noHeartbeat, async () => {
      await g.opened;
      ran.push('running');
    });
    await q.add('p1', noHeartbeat, async () => {
      ran.push('queued');
    });
    await tick();
    const closing = q.close();
    expect(await q.add('p2', noHeartbeat, async () => {})).toBe(false);
    g.open();
    await closing;
    expect(ran).toEqual(['running']);
    expect(q.pending).toBe(0);
  });
});
