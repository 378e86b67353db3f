import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  BatchingProducer,
  BrokerUnavailableError,
  messageBytes,
  type OutgoingMessage,
  ProducerBusyError,
} from './producer.js';

/** A fake kafkajs client: records every send, fails while `down` is true. */
function fakeKafka() {
  const state = { down: false, sends: [] as number[], sendDelayMs: 5, neverAck: false };
  const producer = {
    connect: async () => {
      if (state.down) throw new Error('connect ECONNREFUSED');
    },
    disconnect: async () => {},
    send: async ({ messages }: { messages: unknown[] }) => {
      if (state.neverAck) return new Promise(() => {});
      await new Promise((r) => setTimeout(r, state.sendDelayMs));
      if (state.down) throw new Error('Connection error: ECONNREFUSED');
      state.sends.push(messages.length);
      return [];
    },
  };
  const admin = {
    connect: async () => {
      if (state.down) throw new Error('down');
    },
    disconnect: async () => {},
    fetchTopicMetadata: async () => ({ topics: [] }),
  };
  const kafka = { producer: () => producer, admin: () => admin } as unknown as Kafka;
  return { kafka, state };
}

const msg = (i: number) => ({ key: `u${i}`, value: Buffer.from(`v${i}`) });

describe('BatchingProducer', () => {
  it('sends concurrent callers in one request and resolves each after the ack', async () => {
    const { kafka, state } = fakeKafka();
    const p = new BatchingProducer(kafka, { topic: 't', lingerMs: 20 });
    await p.connect();
    await Promise.all([p.send([msg(1)]), p.send([msg(2), msg(3)]), p.send([msg(4)])]);
    expect(state.sends).toEqual([4]);
    await p.close();
  });

  it('queues behind the batch in flight and sends the queue as the next batch', async () => {
    const { kafka, state } = fakeKafka();
    state.sendDelayMs = 30;
    const p = new BatchingProducer(kafka, { topic: 't', lingerMs: 1 });
    await p.connect();
    const first = p.send([msg(1)]);
    await new Promise((r) => setTimeout(r, 10)); // first batch is in flight now
    await Promise.all([first, p.send([msg(2)]), p.send([msg(3)]), p.send([msg(4)])]);
    expect(state.sends).toEqual([1, 3]);
    await p.close();
  });

  it('ends the linger once as many callers wait as the last batch had (a closed loop is not paced by it)', async () => {
    const { kafka, state } = fakeKafka();
    state.sendDelayMs = 1;
    const p = new BatchingProducer(kafka, { topic: 't', lingerMs: 1000 });
    await p.connect();
    const started = performance.now();
    await Promise.all([p.send([msg(1)]), p.send([msg(2)]), p.send([msg(3)])]); // the first batch lingers
    const lingered = performance.now() - started;
    const again = performance.now();
    await Promise.all([p.send([msg(4)]), p.send([msg(5)]), p.send([msg(6)])]); // the same 3 are back
    const quick = performance.now() - again;
    expect(state.sends).toEqual([3, 3]);
    expect(lingered).toBeGreaterThanOrEqual(990);
    expect(quick).toBeLessThan(500);
    // Fewer than last time: the linger runs its course.
    const lone = performance.now();
    await Promise.all([p.send([msg(7)]), p.send([msg(8)])]);
    expect(performance.now() - lone).toBeGreaterThanOrEqual(990);
    expect(state.sends).toEqual([3, 3, 2]);
    await p.close();
  });

  it('splits at maxBatchMessages', async () => {
    const { kafka, state } = fakeKafka();
    const p = new BatchingProducer(kafka, { topic: 't', lingerMs: 50, maxBatchMessages: 3 });
    await p.connect();
    await Promise.all([1, 2, 3, 4, 5, 6, 7].map((i) => p.send([msg(i)])));
    expect(state.sends.reduce((a, b) => a + b, 0)).toBe(7);
    expect(Math.max(...state.sends)).toBeLessThanOrEqual(3);
    await p.close();
  });

  it('keeps every send under maxBatchBytes, splitting a caller whose messages do not fit in one', async () => {
    const { kafka, state } = fakeKafka();
    const bytes: number[] = [];
    const p = new BatchingProducer(kafka, { topic: 't', lingerMs: 20, maxBatchBytes: 10_000 });
    const sent = kafka.producer();
    const send = sent.send.bind(sent);
    sent.send = async (record) => {
      bytes.push(record.messages.reduce((n, m) => n + messageBytes(m as OutgoingMessage), 0));
      return send(record);
    };
    await p.connect();
    const big = (i: number) => ({ key: `u${i}`, value: Buffer.alloc(3000) });
    // 7 messages of ~3 KB in one call (an import chunk), then two small callers.
    const order: string[] = [];
    await Promise.all([
      p.send([1, 2, 3, 4, 5, 6, 7].map(big)).then(() => order.push('big')),
      p.send([msg(8)]).then(() => order.push('small')),
      p.send([msg(9), big(10)]).then(() => order.push('mixed')),
    ]);
    expect(state.sends.reduce((a, b) => a + b, 0)).toBe(10);
    expect(Math.max(...bytes)).toBeLessThanOrEqual(10_000);
    expect(state.sends.length).toBe(3); // 3 + 3 + (1 + 1 + 2) messages: ~9.1, ~9.1, ~6.2 KB
    expect(order).toEqual(['big', 'small', 'mixed']);
    // One message larger than the limit still goes (alone): the broker judges it.
    await p.send([{ key: 'huge', value: Buffer.alloc(20_000) }]);
    expect(state.sends.at(-1)).toBe(1);
    await p.close();
  });

  it('rejects a split caller when a later part fails', async () => {
    const { kafka, state } = fakeKafka();
    const p = new BatchingProducer(kafka, { topic: 't', lingerMs: 1, maxBatchBytes: 5_000 });
    await p.connect();
    const sent = kafka.producer();
    const send = sent.send.bind(sent);
    let calls = 0;
    sent.send = async (record) => {
      calls += 1;
      if (calls === 2) state.down = true;
      return send(record);
    };
    const big = (i: number) => ({ key: `u${i}`, value: Buffer.alloc(3000) });
    await expect(p.send([1, 2, 3].map(big))).rejects.toBeInstanceOf(BrokerUnavailableError);
    expect(state.sends).toEqual([1]);
    state.down = false;
    await p.close();
  });

  it('rejects every caller of a failed batch, then fails fast until the broker is back', async () => {
    const { kafka, state } = fakeKafka();
    const p = new BatchingProducer(kafka, { topic: 't', lingerMs: 1, probeIntervalMs: 20 });
    await p.connect();
    state.down = true;
    const results = await Promise.allSettled([p.send([msg(1)]), p.send([msg(2)])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(BrokerUnavailableError);
    expect(p.healthy).toBe(false);
    // fail fast: no request to the broker while known to be down
    const before = state.sends.length;
    await expect(p.send([msg(3)])).rejects.toBeInstanceOf(BrokerUnavailableError);
    expect(state.sends.length).toBe(before);
    // recovery without a restart
    state.down = false;
    for (let i = 0; i < 50 && !p.healthy; i++) await new Promise((r) => setTimeout(r, 20));
    expect(p.healthy).toBe(true);
    await p.send([msg(4)]);
    expect(state.sends.at(-1)).toBe(1);
    await p.close();
  });

  it('turns a missing acknowledgement into BrokerUnavailableError after timeoutMs', async () => {
    const { kafka, state } = fakeKafka();
    const p = new BatchingProducer(kafka, {
      topic: 't',
      lingerMs: 1,
      timeoutMs: 50,
      probeIntervalMs: 10_000,
    });
    await p.connect();
    state.neverAck = true;
    await expect(p.send([msg(1)])).rejects.toThrow(/no acknowledgement within 50 ms/);
    await p.close();
  });

  it('sends what is queued on close, then refuses new sends', async () => {
    const { kafka, state } = fakeKafka();
    const p = new BatchingProducer(kafka, { topic: 't', lingerMs: 1000 });
    await p.connect();
    const pending = p.send([msg(1), msg(2)]);
    await p.close();
    await pending;
    expect(state.sends).toEqual([2]);
    await expect(p.send([msg(3)])).rejects.toBeInstanceOf(BrokerUnavailableError);
  });

  it('refuses a send past maxQueuedBytes while others wait, stays healthy, and takes sends again once acknowledged', async () => {
    const { kafka, state } = fakeKafka();
    state.sendDelayMs = 40;
    const big = (i: number) => ({ key: `u${i}`, value: Buffer.alloc(400) });
    const size = messageBytes(big(1)); // 435: key, value, framing
    const p = new BatchingProducer(kafka, { topic: 't', lingerMs: 1, maxQueuedBytes: 2 * size + 10 });
    await p.connect();
    const first = p.send([big(1)]);
    const second = p.send([big(2)]);
    expect(p.outstandingBytes).toBe(2 * size);
    const third = p.send([big(3)]);
    await expect(third).rejects.toBeInstanceOf(ProducerBusyError);
    await expect(third).rejects.toThrow(`${2 * size} bytes already wait`);
    expect(p.healthy).toBe(true);
    await Promise.all([first, second]);
    expect(p.outstandingBytes).toBe(0);
    await p.send([big(4)]);
    expect(state.sends.reduce((a, b) => a + b, 0)).toBe(3); // the refused one never went out
    // An unbounded send (an import's chunk) is taken past the limit, and its bytes count for others.
    const held = [p.send([big(5)]), p.send([big(6)]), p.send([big(7)], { unbounded: true })];
    expect(p.outstandingBytes).toBe(3 * size);
    await expect(p.send([big(8)])).rejects.toBeInstanceOf(ProducerBusyError);
    await Promise.all(held);
    await p.close();
  });

  it('takes a send larger than maxQueuedBytes when nothing waits, and frees its bytes when it fails', async () => {
    const { kafka, state } = fakeKafka();
    const p = new BatchingProducer(kafka, {
      topic: 't',
      lingerMs: 1,
      maxQueuedBytes: 100,
      timeoutMs: 50,
      probeIntervalMs: 10_000,
    });
    await p.connect();
    await p.send([msg(1), msg(2), msg(3), msg(4)]); // 4 × 36 bytes > 100
    expect(state.sends).toEqual([4]);
    state.neverAck = true;
    await expect(p.send([msg(5), msg(6), msg(7)])).rejects.toBeInstanceOf(BrokerUnavailableError);
    expect(p.outstandingBytes).toBe(0);
    await p.close();
  });
});
