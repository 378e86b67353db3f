import { loadConfig, type Static, Type } from '@tracker/config';

/** Environment defaults of the seed (flags win): where ingest is and which write key to use. */
export const SeedEnvSchema = Type.Object({
  INGEST_URL: Type.String({ minLength: 1, default: 'http://127.0.0.1:3001' }),
  /** The same variable ingest reads; the seed uses its first key. */
  INGEST_WRITE_KEYS: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
});
export type SeedEnv = Static<typeof SeedEnvSchema>;

export function loadSeedEnv(env: NodeJS.ProcessEnv = process.env): SeedEnv {
  return loadConfig(SeedEnvSchema, env);
}
