#!/usr/bin/env node
// CPU per event of ingest's own work on a batch request, in-process and without Kafka or HTTP: the
// body's JSON parsing (the strict parser the routes use), validation and normalisation
// (prepareInteraction) and Avro encoding (InteractionSerde.encodeSync, the schema registered with a
// stand-in registry). The benchmark's traffic, 500-event bodies. The kafkajs send and the HTTP
// server are not in it: what changes to ingest's own code cost, without the noise of a full run.
//   node bench/scripts/measure-ingest-cpu.mjs [events=100000] [batch=500] [rounds=7]
// Prints one JSON line: ns per event of each step (the fastest round of each). Needs `pnpm build`.
import { strictJsonParser } from '@tracker/http';
import { prepareInteraction } from '@tracker/ingest/normalize';
import { avroType, InteractionSerde } from '@tracker/kafka';
import { interactionAvroSchema } from '@tracker/schemas';
import Fastify from 'fastify';
import { batches, sampleEvents } from '../dist/bench-traffic.js';

const [events, size, rounds] = [100_000, 500, 7].map((d, i) => Number(process.argv[2 + i] ?? d));
const registry = {
  register: async () => ({ id: 1 }),
  getSchema: async () => avroType(interactionAvroSchema),
};
const serde = new InteractionSerde(registry);
await serde.register();

const app = Fastify();
const parse = strictJsonParser(app);
const bodies = batches(sampleEvents(events, 21), size).map((b) => Buffer.from(JSON.stringify({ events: b })));
const ctx = { receivedAt: Date.now(), userAgent: 'autocannon' };

const parsed = [];
const records = [];
const steps = {
  parse: () => {
    parsed.length = 0;
    for (const body of bodies)
      parse({}, body, (error, value) => (error ? Promise.reject(error) : parsed.push(value)));
  },
  prepare: () => {
    records.length = 0;
    for (const body of parsed) {
      for (const item of body.events) {
        const p = prepareInteraction(item, ctx);
        if (!p.ok) throw new Error(JSON.stringify(p.errors));
        records.push(p.record);
      }
    }
  },
  encode: () => {
    let bytes = 0;
    for (const r of records) bytes += serde.encodeSync(r).length;
    return bytes;
  },
};
const best = Object.fromEntries(Object.keys(steps).map((k) => [k, Number.POSITIVE_INFINITY]));
for (let round = 0; round < rounds; round += 1) {
  for (const [name, run] of Object.entries(steps)) {
    const t0 = process.hrtime.bigint();
    run();
    const ns = Number(process.hrtime.bigint() - t0) / events;
    best[name] = Math.min(best[name], ns);
  }
}
const out = Object.fromEntries(Object.entries(best).map(([k, v]) => [`${k}NsPerEvent`, Math.round(v)]));
out.totalNsPerEvent = Object.values(out).reduce((a, b) => a + b, 0);
console.log(JSON.stringify({ name: 'ingest_cpu', events, batch: size, rounds, ...out }));
