#!/usr/bin/env node
/** `pnpm db:migrate`: creates the database when missing, then applies pending migrations. */
import { CommonEnv, loadConfig, redactCredentials, Type } from '@tracker/config';
import { ensureDatabase, migrate } from './migrate.js';

const { DATABASE_URL } = loadConfig(Type.Object({ DATABASE_URL: CommonEnv.DATABASE_URL }));
const redacted = redactCredentials(DATABASE_URL);
try {
  if (await ensureDatabase(DATABASE_URL)) console.log(`created database ${redacted}`);
  const { applied, alreadyApplied } = await migrate(DATABASE_URL);
  console.log(
    `migrations: ${applied.length} applied${applied.length ? ` (${applied.join(', ')})` : ''}, ${alreadyApplied.length} already applied`,
  );
} catch (error) {
  console.error(`db:migrate failed for ${redacted}: ${redactCredentials((error as Error).message)}`);
  process.exitCode = 1;
}
