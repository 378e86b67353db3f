import { type Static, type TObject, type TSchema, Type } from 'typebox';
import { Value } from 'typebox/value';

export type { Static };
export { Type };

/** Thrown when the environment does not satisfy a service's config schema; lists every bad key. */
export class ConfigError extends Error {
  constructor(readonly problems: { key: string; message: string; value?: string }[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.key}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const isArraySchema = (s: TSchema): boolean => (s as { type?: unknown }).type === 'array';

/** Variables whose values are never echoed in an error (keys, passwords, URLs with credentials). */
const isSecret = (key: string): boolean => /KEYS?$|PASSWORD|SECRET|TOKEN|_URL$/.test(key);

/**
 * Reads the keys `schema` declares from `env`, converts strings to the declared types (comma-separated
 * lists for arrays), fills defaults and validates. Unknown env vars are ignored. Throws ConfigError
 * naming every bad key, so a bad environment is fixed in one go rather than one key per restart.
 */
export function loadConfig<T extends TObject>(schema: T, env: NodeJS.ProcessEnv = process.env): Static<T> {
  const raw: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(schema.properties as Record<string, TSchema>)) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    raw[key] = isArraySchema(prop)
      ? value
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v.length > 0)
      : value;
  }
  const converted = Value.Default(schema, Value.Convert(schema, raw));
  const problems = [...Value.Errors(schema, converted)]
    .filter((e) => e.keyword !== 'boolean')
    .map((e) => {
      const key =
        e.instancePath.split('/')[1] ??
        String((e.params as { requiredProperties?: string[] }).requiredProperties?.[0] ?? '(root)');
      const value = env[key];
      // A schema may say in its own words what a valid value is (`errorMessage`).
      const own = (schema.properties as Record<string, { errorMessage?: string }>)[key]?.errorMessage;
      return {
        key,
        message: own ?? e.message,
        ...(value === undefined || isSecret(key) ? {} : { value }),
      };
    })
    // One problem per key: an array of keys may fail once per item.
    .filter((p, i, all) => all.findIndex((q) => q.key === p.key && q.message === p.message) === i);
  if (problems.length > 0) throw new ConfigError(problems);
  return converted as Static<T>;
}

/** Common settings every service shares. */
export const CommonEnv = {
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  DATABASE_URL: Type.String({ default: 'postgresql://postgres@127.0.0.1:5432/tracker' }),
  KAFKA_BROKERS: Type.Array(Type.String({ minLength: 1 }), { default: ['127.0.0.1:9092'], minItems: 1 }),
  KAFKA_CLIENT_ID: Type.String({ default: 'tracker' }),
  KAFKA_SSL: Type.Boolean({ default: false }),
  KAFKA_SASL_MECHANISM: Type.Optional(
    Type.Union([Type.Literal('plain'), Type.Literal('scram-sha-256'), Type.Literal('scram-sha-512')]),
  ),
  KAFKA_SASL_USERNAME: Type.Optional(Type.String()),
  KAFKA_SASL_PASSWORD: Type.Optional(Type.String()),
  SCHEMA_REGISTRY_URL: Type.String({ default: 'http://127.0.0.1:8081/apis/ccompat/v7' }),
  SCHEMA_REGISTRY_USERNAME: Type.Optional(Type.String()),
  SCHEMA_REGISTRY_PASSWORD: Type.Optional(Type.String()),
} as const;

/** Shortest key accepted in any *_KEYS setting: shorter ones can be guessed. */
export const MIN_KEY_LENGTH = 16;
const KEY_RULE = `at least ${MIN_KEY_LENGTH} characters (generate one with: openssl rand -base64 24)`;

/**
 * A comma-separated list of API keys, each at least MIN_KEY_LENGTH characters (a service refuses to
 * start with a shorter one). Generate one with `openssl rand -base64 24`.
 */
export const KeyList = () =>
  Type.Array(Type.String({ minLength: MIN_KEY_LENGTH }), {
    default: [],
    errorMessage: `every key must be ${KEY_RULE}`,
  });

/**
 * Which reverse proxies may set X-Forwarded-For: `false` (none: the client address is the socket's),
 * a hop count (`1` behind one proxy), or a comma-separated list of proxy addresses, CIDRs or the names loopback, linklocal, uniquelocal. A bare
 * `true` would trust any address a client writes into the header, so it is refused.
 */
export const TrustProxy = Type.String({
  default: 'false',
  pattern: '^(?!true$)(?:false|\\d{1,2}|[0-9A-Za-z.:/]+(?:\\s*,\\s*[0-9A-Za-z.:/]+)*)$',
  errorMessage:
    'must be false, a hop count (1 behind one proxy) or a comma-separated list of proxy addresses/CIDRs; ' +
    '`true` would let any client choose its own address',
});

/** Fastify's trustProxy from a TrustProxy setting. */
export function trustProxyOption(value: string): false | number | string[] {
  if (value === 'false') return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value.split(',').map((v) => v.trim());
}

/** Settings of every service's HTTP server. */
export const HttpServerEnv = {
  /** Time to receive a whole request (headers and body); a slower upload is cut with 408. */
  HTTP_REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 300_000 }),
  /** Time to receive a request's headers (slow-header clients are cut). */
  HTTP_HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 15_000 }),
  /** How long an idle keep-alive connection stays open. */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 65_000 }),
  /** Requests with a missing or wrong key allowed per address per window; then 429 until it ends. */
  AUTH_FAILURE_LIMIT: Type.Integer({ minimum: 1, default: 20 }),
  AUTH_FAILURE_WINDOW_MS: Type.Integer({ minimum: 1000, default: 60_000 }),
  /** When set, GET /metrics needs it (`Authorization: Bearer <key>`); unset: /metrics is open. */
  METRICS_KEY: Type.Optional(
    Type.String({
      minLength: MIN_KEY_LENGTH,
      errorMessage: `must be ${KEY_RULE}`,
    }),
  ),
} as const;

/**
 * `text` with the password of every URL in it (`scheme://user:password@host`) replaced by `***`:
 * for anything that prints or logs a DATABASE_URL, a registry URL or an error message that holds one.
 */
export function redactCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#]*)@/gi, (_match, scheme: string, auth: string) => {
    const colon = auth.indexOf(':');
    return `${scheme}${colon === -1 ? auth : `${auth.slice(0, colon)}:***`}@`;
  });
}
