import { type Static, type TObject, type TSchema, Type } from 'typebox';
import { Value } from 'typebox/value';

export { Type };
export type { Static };

/** Thrown when the environment does not satisfy a service's config schema; lists every bad key. */
export class ConfigError extends Error {
  constructor(readonly problems: { key: string; message: string; value?: string }[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.key}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const isArraySchema = (s: TSchema): boolean => (s as { type?: unknown }).type === 'array';

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
      return { key, message: e.message, ...(value === undefined ? {} : { value }) };
    });
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
