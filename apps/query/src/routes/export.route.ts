import { pipeline, type Readable, Transform } from 'node:stream';
import { ownConnection, type pg } from '@tracker/db';
import { HttpError, type TrackerApp } from '@tracker/http';
import { EXPORT_CSV_COLUMNS } from '@tracker/schemas';
import { stringify } from 'csv-stringify';
import QueryStream from 'pg-query-stream';
import { Counter } from 'prom-client';
import { Type } from 'typebox';
import { ClientSlots } from '../client-slots.js';
import { neutralizeFormula } from '../csv.js';
import { toFilters } from '../filters.js';
import { exportQuery, type InteractionRow, toItem } from '../repositories/interactions.repository.js';
import { FilterQueryProperties, KeyProperty } from '../schemas/filters.schema.js';
import { ErrorRef } from '../schemas/responses.schema.js';

export const ExportQuerySchema = Type.Object(
  {
    ...FilterQueryProperties,
    format: Type.Union([Type.Literal('csv'), Type.Literal('ndjson')], {
      default: 'csv',
      description: 'csv (RFC 4180, CRLF, header row) or ndjson (one JSON object per line)',
    }),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100_000_000,
        description: 'Stop after this many rows (default: all)',
      }),
    ),
    bom: Type.Optional(
      Type.Boolean({ default: false, description: 'CSV only: start with a UTF-8 byte order mark (Excel)' }),
    ),
    key: KeyProperty,
    // A signed link (POST /api/export/link) instead of a key: checked in app.ts before validation.
    expires: Type.Optional(Type.Integer({ minimum: 0, description: 'Signed link: expiry (unix seconds)' })),
    sig: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'Signed link: signature (base64url)' }),
    ),
  },
  { additionalProperties: false },
);

/** The CSV header row (ingest's /v1/import reads these names too: an export imports as it is). */
export const CSV_COLUMNS = EXPORT_CSV_COLUMNS;

function csvRecord(row: InteractionRow, protect: boolean): string[] {
  const text = protect ? neutralizeFormula : (v: string) => v;
  return [
    row.eventId,
    row.occurredAt.toISOString(),
    row.receivedAt.toISOString(),
    text(row.userId),
    row.role,
    text(row.action),
    text(row.page),
    row.sessionId === null ? '' : text(row.sessionId),
    JSON.stringify(row.properties ?? {}),
  ];
}

/**
 * Ends `body` (and so its cursor, transaction and connection) when the client has not taken any of
 * it for `idleMs` while the socket is full: a stalled reader must not hold a snapshot open.
 */
function stopWhenIdle(
  body: { destroy(error?: Error): void; once(event: 'end' | 'close', listener: () => void): unknown },
  socket: { writableNeedDrain: boolean; writableLength: number; once(e: 'close', f: () => void): void },
  idleMs: number,
  onIdle: () => void,
): void {
  let stalledSince = 0;
  const timer = setInterval(
    () => {
      if (!socket.writableNeedDrain) {
        stalledSince = 0;
        return;
      }
      const now = Date.now();
      if (stalledSince === 0) stalledSince = now;
      else if (now - stalledSince >= idleMs) {
        clearInterval(timer);
        onIdle();
        body.destroy(new Error(`the client read nothing for ${idleMs} ms`));
      }
    },
    Math.max(100, Math.min(1000, idleMs / 4)),
  );
  timer.unref();
  const stop = () => clearInterval(timer);
  body.once('end', stop);
  body.once('close', stop);
  socket.once('close', stop);
}

export interface ExportOptions {
  formulaProtection: boolean;
  /** Downloads running at once; each holds a database connection for its whole duration. */
  maxConcurrent: number;
  /** Downloads one client may run at once: per address and per read key. */
  perAddress: number;
  perKey: number;
  /** Time limit of each FETCH of the cursor. */
  statementTimeoutMs: number;
  /** A download whose client reads nothing for this long is ended (its snapshot with it). */
  idleTimeoutMs: number;
}

export async function exportRoute(app: TrackerApp, opts: ExportOptions): Promise<void> {
  let running = 0;
  const slots = new ClientSlots({
    what: 'exports',
    code: 'TOO_MANY_EXPORTS',
    perAddress: opts.perAddress,
    perKey: opts.perKey,
  });
  const exported = new Counter({
    name: 'query_export_rows_total',
    help: 'Rows written to /api/export downloads',
    labelNames: ['format'] as const,
    registers: [app.metrics],
  });
  app.get(
    '/export',
    {
      schema: {
        summary: 'Every matching interaction as a CSV or NDJSON download, streamed',
        description:
          'Newest first. Streamed from a server-side cursor in constant memory, reading only as fast as the client ' +
          'downloads. CSV cells starting with = + - @ tab or CR get a leading apostrophe (formula injection).',
        tags: ['interactions'],
        security: [{ bearer: [] }],
        querystring: ExportQuerySchema,
        produces: ['text/csv', 'application/x-ndjson'],
        response: {
          200: {
            description: 'The file (Content-Disposition: attachment)',
            content: {
              'text/csv': { schema: { type: 'string' } },
              'application/x-ndjson': { schema: { type: 'string' } },
            },
          },
          400: ErrorRef,
          401: ErrorRef,
          429: ErrorRef,
          503: ErrorRef,
        },
      },
    },
    async (request, reply) => {
      const {
        format = 'csv',
        limit,
        bom = false,
        key: _key,
        expires: _expires,
        sig: _sig,
        ...filterQuery
      } = request.query;
      const filters = toFilters(filterQuery);
      const query = exportQuery(filters, limit);
      if (running >= opts.maxConcurrent) {
        throw new HttpError(
          503,
          'TOO_MANY_EXPORTS',
          `${running} exports are running; try again shortly`,
          [],
          {
            'retry-after': '10',
          },
        );
      }

      const giveBack = slots.take(request);
      running += 1;
      let client: pg.PoolClient;
      try {
        client = await ownConnection(app.db);
      } catch (error) {
        running -= 1;
        giveBack();
        throw error;
      }
      let released = false;
      let counted = true;
      const done = () => {
        if (counted) running -= 1;
        counted = false;
        giveBack();
      };
      const release = (error?: Error) => {
        done();
        if (released) return;
        released = true;
        // A connection left mid-cursor is not reused.
        client.release(error);
      };
      try {
        // One snapshot for the whole file. Each FETCH has its own time limit; a transaction left idle
        // (a reader that stopped reading) is ended by PostgreSQL itself, a little after our own timer.
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        await client.query(
          `SET LOCAL statement_timeout = ${Math.trunc(opts.statementTimeoutMs)};
           SET LOCAL idle_in_transaction_session_timeout = ${Math.trunc(opts.idleTimeoutMs + 5000)}`,
        );
      } catch (error) {
        release(error as Error);
        throw error;
      }

      let rows = 0;
      const source = client.query(
        new QueryStream(query.text, query.values, { batchSize: 1000, highWaterMark: 1000 }),
      );
      const encode =
        format === 'csv'
          ? [
              new Transform({
                objectMode: true,
                transform(row: InteractionRow, _enc, done) {
                  rows += 1;
                  exported.inc({ format: 'csv' });
                  done(null, csvRecord(row, opts.formulaProtection));
                },
              }),
              stringify({
                header: true,
                columns: [...CSV_COLUMNS],
                record_delimiter: 'windows',
                bom,
                // NOTE: csv-stringify quotes a field holding the whole delimiter (CRLF) only; a lone CR or LF
                // unquoted splits the record for every reader (RFC 4180: fields with line breaks are quoted).
                quoted_match: /[\r\n]/,
              }),
            ]
          : [
              new Transform({
                writableObjectMode: true,
                transform(row: InteractionRow, _enc, done) {
                  rows += 1;
                  exported.inc({ format: 'ndjson' });
                  done(null, `${JSON.stringify(toItem(row))}\n`);
                },
              }),
            ];
      const started = Date.now();
      const body = pipeline([source, ...encode], (error) => {
        if (error) {
          release(error);
          request.log.info({ msg: 'export_aborted', rows, format, err: error.message });
          return;
        }
        client.query('COMMIT').then(
          () => release(),
          (commitError: Error) => release(commitError),
        );
        request.log.info({ msg: 'export_finished', rows, format, ms: Date.now() - started });
      });

      // The slot frees as the last byte is handed to the response; the connection after COMMIT.
      body.once('end', done);
      stopWhenIdle(body as unknown as Readable, reply.raw, opts.idleTimeoutMs, () => {
        request.log.info({ msg: 'export_idle_reader', rows, format, idleMs: opts.idleTimeoutMs });
      });

      const stamp = new Date()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
      const extension = format === 'csv' ? 'csv' : 'ndjson';
      return reply
        .header(
          'content-type',
          format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
        )
        .header('content-disposition', `attachment; filename="interactions-${stamp}.${extension}"`)
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff')
        .send(body);
    },
  );
}
