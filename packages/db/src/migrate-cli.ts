#!/usr/bin/env node
/** `pnpm db:migrate`: creates the database when missing, then applies pending migrations. */
import { CommonEnv, loadConfig, redactCredentials, Type } from '@tracker/config';
import { ensureDatabase, migrate } from './migrate.js';
import { SESSION_GAP_MINUTES, sessionRulesOf } from './reports/sessions.js';

const { DATABASE_URL, TRACKER_SESSION_GAP_MINUTES } = loadConfig(
  Type.Object({
    DATABASE_URL: CommonEnv.DATABASE_URL,
    /** The gap the migration adding the sessions table fills it with (the processor's setting). */
    TRACKER_SESSION_GAP_MINUTES: Type.Integer(SESSION_GAP_MINUTES),
  }),
);
const redacted = redactCredentials(DATABASE_URL);
try {
  if (await ensureDatabase(DATABASE_URL)) console.log(`created database ${redacted}`);
  const { applied, alreadyApplied } = await migrate(DATABASE_URL, undefined, {
    sessionRules: sessionRulesOf(TRACKER_SESSION_GAP_MINUTES),
  });
  console.log(
    `migrations: ${applied.length} applied${applied.length ? ` (${applied.join(', ')})` : ''}, ${alreadyApplied.length} already applied`,
  );
} catch (error) {
  console.error(`db:migrate failed for ${redacted}: ${redactCredentials((error as Error).message)}`);
  process.exitCode = 1;
}
