import { createPrisma, ensureInteractionPartitions } from '@tracker/db';
import { INTERACTION_SUBJECT, type InteractionRecord, interactionAvroSchema } from '@tracker/schemas';
import {
  buildInteraction,
  createTestDatabase,
  stackConfig,
  type TestDatabase,
  uniqueName,
  waitFor,
} from '@tracker/test-utils';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchingProducer, createKafka, createRegistry, InteractionSerde } from './index.js';

const config = stackConfig();
let kafka: Kafka;
let admin: Admin;
let db: TestDatabase;
const topic = uniqueName('it_interactions');

beforeAll(async () => {
  kafka = createKafka(config);
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  db = await createTestDatabase('pipeline');
});

afterAll(async () => {
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
  await db.drop();
});

describe('an interaction end to end: registry, Kafka, consumer, PostgreSQL', () => {
  it('is read back from the database equal to what was produced', async () => {
    const registry = createRegistry(config);
    const serde = new InteractionSerde(registry, `${topic}-value`);
    const schemaId = await serde.register();
    expect(schemaId).toBeGreaterThan(0);

    const producer = new BatchingProducer(kafka, { topic });
    await producer.connect();
    const sent: InteractionRecord[] = [
      buildInteraction({
        role: 'ADMIN',
        action: 'click',
        properties: { button: 'buy', price: 9.5, ok: true },
      }),
      buildInteraction({ sessionId: 's-42', userAgent: 'Mozilla/5.0', page: '/docs/intro?x=1' }),
      buildInteraction({ role: 'GUEST', action: 'form_submit' }),
    ];
    await Promise.all(
      sent.map(async (r) => producer.send([{ key: r.userId, value: await serde.encode(r) }])),
    );
    await producer.close();

    // The bytes on the topic are the Confluent wire format with our schema id.
    const received: InteractionRecord[] = [];
    const consumer: Consumer = kafka.consumer({ groupId: uniqueName('it_group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const prisma = createPrisma(db.url, 2);
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        expect(InteractionSerde.schemaIdOf(message.value)).toBe(schemaId);
        const record = await serde.decode(message.value);
        // The week's raw-row partition (storeInteractions does this itself; a bare create does not).
        await ensureInteractionPartitions(prisma, [record.occurredAt]);
        await prisma.interaction.create({
          data: {
            eventId: record.eventId,
            userId: record.userId,
            role: record.role,
            action: record.action,
            page: record.page,
            occurredAt: new Date(record.occurredAt),
            receivedAt: new Date(record.receivedAt),
            sessionId: record.sessionId,
            properties: record.properties,
            userAgent: record.userAgent,
            isBot: record.isBot,
            kafkaPartition: partition,
            kafkaOffset: BigInt(message.offset),
          },
        });
        received.push(record);
      },
    });
    await waitFor(() => received.length >= sent.length, {
      what: 'three consumed messages',
      timeoutMs: 30_000,
    });
    await consumer.disconnect();

    const rows = await prisma.interaction.findMany({ orderBy: { eventId: 'asc' } });
    await prisma.$disconnect();
    const readBack = rows.map((r) => ({
      eventId: r.eventId,
      type: 'TRACK' as const,
      userId: r.userId,
      role: r.role,
      action: r.action,
      page: r.page,
      occurredAt: r.occurredAt.getTime(),
      receivedAt: r.receivedAt.getTime(),
      sessionId: r.sessionId,
      properties: r.properties,
      userAgent: r.userAgent,
      isBot: r.isBot,
    }));
    expect(readBack).toEqual([...sent].sort((a, b) => a.eventId.localeCompare(b.eventId)));
  });
});

describe('schema evolution through the registry', () => {
  const registry = createRegistry(config);

  it('registers the interaction schema idempotently (same id twice)', async () => {
    const subject = `${uniqueName('it_same')}-value`;
    const a = await new InteractionSerde(registry, subject).register();
    const b = await new InteractionSerde(registry, subject).register();
    expect(b).toBe(a);
  });

  it('accepts a BACKWARD compatible change and refuses an incompatible one', async () => {
    const subject = `${uniqueName('it_evolve')}-value`;
    await new InteractionSerde(registry, subject).register();

    const compatible = structuredClone(interactionAvroSchema);
    compatible.fields.push({ name: 'country', type: ['null', 'string'], default: null, doc: 'added later' });
    const v2 = await new InteractionSerde(registry, subject).register(compatible);
    expect(v2).toBeGreaterThan(0);

    const incompatible = structuredClone(compatible);
    incompatible.fields.push({ name: 'tenant', type: 'string', doc: 'required, no default' });
    await expect(new InteractionSerde(registry, subject).register(incompatible)).rejects.toThrow();

    const changedType = structuredClone(interactionAvroSchema);
    const userId = changedType.fields.find((f) => f.name === 'userId')!;
    userId.type = 'long';
    await expect(new InteractionSerde(registry, subject).register(changedType)).rejects.toThrow();
  });

  it('uses the shared subject name for the real topic', () => {
    expect(INTERACTION_SUBJECT).toBe('interactions-value');
  });
});
