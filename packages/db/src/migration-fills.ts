// Data a migration's new table needs from the rows already stored, computed by the same TypeScript
// definition the services use (one definition, not a copy in SQL): run by migrate() in the migration's
// own transaction, right after its SQL.
import type pg from 'pg';
import { aggregateDef } from './aggregates/catalog.js';
import { fillAggregate } from './aggregates/rebuild.js';
import { fillSessionDays } from './aggregates/session-days.js';
import { fillSessions } from './aggregates/sessions.js';
import { DEFAULT_SESSION_RULES, type SessionRules } from './reports/sessions.js';

/** What the fills compute with: the settings of the services that keep those tables. */
export interface MigrationFillOptions {
  /** TRACKER_SESSION_GAP_MINUTES' rules (default: 30 minutes). */
  sessionRules?: SessionRules;
}

export const MIGRATION_FILLS: Record<
  string,
  (client: pg.ClientBase, opts: MigrationFillOptions) => Promise<unknown>
> = {
  '20261207100000_sessions': (client, opts) =>
    fillSessions(client, opts.sessionRules ?? DEFAULT_SESSION_RULES),
  '20261207120000_session_days': (client) => fillSessionDays(client),
  '20261207130000_retention_activity': async (client) => {
    for (const table of ['agg_user_first', 'agg_user_action_15m'])
      await fillAggregate(client, aggregateDef(table));
  },
  '20261207140000_funnel_entries': (client) =>
    fillAggregate(client, aggregateDef('agg_user_action_first_1d')),
};
