import type { Logger } from '@tracker/logger';
import { describe, expect, it } from 'vitest';
import { createKafka } from './client.js';

type Level = 'error' | 'warn' | 'info' | 'debug';

/** A kafkajs client whose log lines land in `lines`, through the bridge createKafka installs. */
function bridged() {
  const lines: { level: Level; entry: Record<string, unknown> }[] = [];
  const at = (level: Level) => (entry: Record<string, unknown>) => lines.push({ level, entry });
  const logger = {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
  } as unknown as Logger;
  const kafka = createKafka({ KAFKA_BROKERS: ['127.0.0.1:1'], KAFKA_CLIENT_ID: 'test' }, logger);
  const log = (namespace: string) => kafka.logger().namespace(namespace);
  const levels = () => lines.map((l) => `${l.level} ${l.entry['kafkajs']}`);
  return { lines, log, levels };
}

const LOADING = "The coordinator is loading and hence can't process requests for this group";

describe('kafkajs log bridge', () => {
  it('keeps kafkajs errors and warnings as warnings, its info as debug', () => {
    const { log, levels } = bridged();
    log('Connection').error('Connection error: connect ECONNREFUSED 127.0.0.1:9092', {
      broker: '127.0.0.1:9092',
    });
    log('Consumer').warn('The group is rebalancing, re-joining', { groupId: 'g' });
    log('Consumer').info('Starting', { groupId: 'g' });
    expect(levels()).toEqual([
      'warn Connection error: connect ECONNREFUSED 127.0.0.1:9092',
      'warn The group is rebalancing, re-joining',
      'debug Starting',
    ]);
  });

  it('writes the message under `kafkajs` with its fields, without kafkajs’ own timestamp and logger name', () => {
    const { lines, log } = bridged();
    log('Connection').error('Connection error: boom', { broker: 'b:9092', clientId: 'test' });
    expect(lines[0]?.entry).toEqual({
      msg: 'kafkajs',
      kafkajs: 'Connection error: boom',
      broker: 'b:9092',
      clientId: 'test',
    });
  });

  it("turns the idempotent producer's bounded-retries notice into debug", () => {
    const { log, levels } = bridged();
    log('Producer').warn('Limiting retries for the idempotent producer may invalidate EoS guarantees');
    expect(levels()).toEqual([
      'debug Limiting retries for the idempotent producer may invalidate EoS guarantees',
    ]);
  });

  it('turns responses from a coordinator that is still loading into debug', () => {
    const { log, levels } = bridged();
    log('Connection').error('Response InitProducerId(key: 22, version: 1)', {
      error: LOADING,
      correlationId: 2,
    });
    log('Connection').error('Response GroupCoordinator(key: 10, version: 2)', {
      error: 'The group coordinator is not available',
    });
    log('Connection').error('Response JoinGroup(key: 11, version: 5)', { error: 'The group id is invalid' });
    expect(levels()).toEqual([
      'debug Response InitProducerId(key: 22, version: 1)',
      'debug Response GroupCoordinator(key: 10, version: 2)',
      'warn Response JoinGroup(key: 11, version: 5)',
    ]);
  });

  it('turns a consumer crash on a loading coordinator, and the restart after it, into debug', () => {
    const { log, levels } = bridged();
    log('Consumer').error(`Crash: KafkaJSNumberOfRetriesExceeded: ${LOADING}`, {
      groupId: 'g',
      retryCount: 5,
    });
    log('Consumer').error('Restarting the consumer in 300ms', { groupId: 'g', retryTime: 300 });
    expect(levels()).toEqual([
      `debug Crash: KafkaJSNumberOfRetriesExceeded: ${LOADING}`,
      'debug Restarting the consumer in 300ms',
    ]);
  });

  it('keeps any other consumer crash, and the restart after it, as warnings', () => {
    const { log, levels } = bridged();
    log('Consumer').error(`Crash: KafkaJSNumberOfRetriesExceeded: ${LOADING}`, { groupId: 'g' });
    log('Consumer').error('Restarting the consumer in 300ms', { groupId: 'g' });
    log('Consumer').error('Crash: KafkaJSConnectionError: Connection timeout', { groupId: 'g' });
    log('Consumer').error('Restarting the consumer in 300ms', { groupId: 'g' });
    // Another group's loading crash does not quieten this group's restart.
    log('Consumer').error(`Crash: KafkaJSProtocolError: ${LOADING}`, { groupId: 'other' });
    log('Consumer').error('Crash: KafkaJSConnectionError: Connection timeout', { groupId: 'g' });
    log('Consumer').error('Restarting the consumer in 600ms', { groupId: 'g' });
    expect(levels()).toEqual([
      `debug Crash: KafkaJSNumberOfRetriesExceeded: ${LOADING}`,
      'debug Restarting the consumer in 300ms',
      'warn Crash: KafkaJSConnectionError: Connection timeout',
      'warn Restarting the consumer in 300ms',
      `debug Crash: KafkaJSProtocolError: ${LOADING}`,
      'warn Crash: KafkaJSConnectionError: Connection timeout',
      'warn Restarting the consumer in 600ms',
    ]);
  });
});
