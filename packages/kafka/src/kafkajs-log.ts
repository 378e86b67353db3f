import type { Logger } from '@tracker/logger';
import { type logCreator, logLevel } from 'kafkajs';

type Level = 'warn' | 'debug';

// kafkajs' texts for a coordinator that is not ready yet (protocol errors 14 and 15, both retriable):
// a broker that has just started is still loading its group and transaction state.
const COORDINATOR_NOT_READY = [
  "The coordinator is loading and hence can't process requests",
  'The group coordinator is not available',
];
// Printed for every idempotent producer with bounded retries; ours are bounded on purpose (producer.ts).
const IDEMPOTENT_RETRIES_NOTICE =
  'Limiting retries for the idempotent producer may invalidate EoS guarantees';

const coordinatorNotReady = (text: unknown) =>
  typeof text === 'string' && COORDINATOR_NOT_READY.some((t) => text.includes(t));

/**
 * Routes kafkajs' own log lines into pino, one level down so broker chatter does not drown ours:
 * its errors become warnings (it logs every connection error at ERROR while it retries), its info
 * debug. Known start-up noise becomes debug too: the idempotent producer's retries notice, responses
 * from a coordinator still loading, and a consumer's crash on such a coordinator with the restart
 * that follows (kafkajs rejoins by itself; the processor's /readyz says it is waiting meanwhile).
 */
export function kafkajsLogCreator(logger: Logger): logCreator {
  // Groups whose last crash was a coordinator not ready yet: their next "Restarting the consumer" is noise too.
  const quietRestart = new Set<unknown>();
  const levelOf = (level: logLevel, message: string, extra: Record<string, unknown>): Level => {
    if (level !== logLevel.ERROR && level !== logLevel.WARN) return 'debug';
    if (message === IDEMPOTENT_RETRIES_NOTICE) return 'debug';
    if (message.startsWith('Crash: ')) {
      const harmless = coordinatorNotReady(message);
      if (harmless) quietRestart.add(extra['groupId']);
      else quietRestart.delete(extra['groupId']);
      return harmless ? 'debug' : 'warn';
    }
    if (message.startsWith('Restarting the consumer')) {
      return quietRestart.delete(extra['groupId']) ? 'debug' : 'warn';
    }
    return coordinatorNotReady(message) || coordinatorNotReady(extra['error']) ? 'debug' : 'warn';
  };
  return () =>
    ({ level, log }) => {
      // kafkajs' own timestamp and logger name repeat what pino writes (time, msg).
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
      logger[levelOf(level, message, extra)]({ ...extra, msg: 'kafkajs', kafkajs: message });
    };
}
