// Data a migration's new table needs from the rows already stored, computed by the same TypeScript
// definition the services use (one definition, not a copy in SQL): run by migrate() in the migration's
// own transaction, right after its SQL.
import type pg from 'pg';
import { fillSessions } from './aggregates/sessions.js';
import { sessionRulesFromEnv } from './reports/sessions.js';

export const MIGRATION_FILLS: Record<string, (client: pg.ClientBase) => Promise<unknown>> = {
  '20261207100000_sessions': (client) => fillSessions(client, sessionRulesFromEnv()),
};
