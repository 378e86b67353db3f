import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger };

/** Paths never written to a log line: keys and credentials. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-write-key"]',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-write-key"]',
  'headers["x-api-key"]',
  'password',
  '*.password',
  'writeKey',
  '*.writeKey',
];

/** The one pino factory: JSON lines, service name on each, credentials redacted. */
export function createLogger(service: string, level = 'info', extra: LoggerOptions = {}): Logger {
  return pino({
    name: service,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...extra,
  });
}

/** Options for Fastify's own logger with the same conventions (Fastify builds the pino instance). */
export function fastifyLoggerOptions(service: string, level = 'info'): LoggerOptions {
  return {
    name: service,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: {
      // NOTE: the URL may carry ?writeKey=...; log the path only.
      req: (req: { method: string; url: string; ip?: string }) => ({
        method: req.method,
        url: req.url.split('?')[0],
        ip: req.ip,
      }),
    },
  };
}
