import type { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import { HttpError, type TrackerApp } from '@tracker/http';
import { LIMITS } from '@tracker/schemas';
import { Type } from 'typebox';
import type { IngestConfig } from '../config.js';
import { EventRate } from '../event-rate.js';
import { runImport } from '../import/import-runner.js';
import {
  type ByteSource,
  csvItems,
  type ImportItem,
  jsonArrayItems,
  ndjsonItems,
} from '../import/readers.js';
import { sniffJson } from '../import/sniff-json.js';
import { importAuth } from '../keys.js';
import { commonErrors, ImportSummarySchema, WriteKeyQuerySchema } from '../schemas.js';
import type { ParamFilter } from '../url-privacy.js';
import { typeboxValidatorCompiler } from '../validation.js';

type Format = 'ndjson' | 'json' | 'csv';

const MEDIA_TYPES: Record<string, Format> = {
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'application/x-jsonlines': 'ndjson',
  'application/json': 'json',
  'text/csv': 'csv',
};
const EXTENSIONS: Record<string, Format> = { ndjson: 'ndjson', jsonl: 'ndjson', json: 'json', csv: 'csv' };

const mediaFormat = (contentType: string | undefined): Format | undefined =>
  MEDIA_TYPES[(contentType ?? '').split(';')[0]!.trim().toLowerCase()];

const ImportQuerySchema = Type.Object({
  ...WriteKeyQuerySchema.properties,
  format: Type.Optional(
    Type.Union([Type.Literal('ndjson'), Type.Literal('json'), Type.Literal('csv')], {
      description: 'Overrides the format the content type or file name suggests',
    }),
  ),
});

/** Counts bytes and stops the upload with 413 once it passes `max`. */
async function* limitBytes(source: AsyncIterable<Buffer>, max: number): ByteSource {
  let seen = 0;
  for await (const chunk of source) {
    seen += chunk.length;
    if (seen > max)
      throw new HttpError(
        413,
        'PAYLOAD_TOO_LARGE',
        `the file is larger than ${max} bytes (INGEST_IMPORT_MAX_BYTES)`,
      );
    yield chunk;
  }
}

/**
 * A multipart parser error as the client's mistake: a 400 naming it (busboy's errors carry no status,
 * and were 500s), or the parser's own 4xx (file or part limits).
 */
function multipartError(error: unknown): unknown {
  const e = error as { statusCode?: number; message?: string };
  if (error instanceof HttpError || (e?.statusCode && e.statusCode >= 400 && e.statusCode < 500))
    return error;
  const reason = e?.message ?? String(error);
  return new HttpError(400, 'INVALID_MULTIPART', `the multipart body cannot be read: ${reason}`, [
    { path: 'body', message: reason },
  ]);
}

/** A multipart file stream; busboy silently truncates at the size limit, which must be a 413 instead. */
async function* untruncated(file: Readable & { truncated?: boolean }, max: number): ByteSource {
  try {
    for await (const chunk of file) yield chunk as Buffer;
  } catch (error) {
    throw multipartError(error); // e.g. the body ended before the closing boundary
  }
  if (file.truncated)
    throw new HttpError(
      413,
      'PAYLOAD_TOO_LARGE',
      `the file is larger than ${max} bytes (INGEST_IMPORT_MAX_BYTES)`,
    );
}

function readerFor(format: Format, source: ByteSource, firstLine = 1): AsyncIterable<ImportItem> {
  if (format === 'ndjson') return ndjsonItems(source, LIMITS.eventBytes, firstLine);
  if (format === 'csv') return csvItems(source, LIMITS.eventBytes);
  return jsonArrayItems(source, LIMITS.eventBytes, firstLine);
}

export interface ImportRouteOptions {
  config: IngestConfig;
  /** Query parameters kept in pages and referrers (from INGEST_URL_QUERY_ALLOW). */
  keepParam: ParamFilter;
}

/** POST /v1/import: a file (multipart or raw body) streamed through validation into Kafka in chunks. */
export async function importRoute(app: TrackerApp, { config, keepParam }: ImportRouteOptions) {
  const max = config.INGEST_IMPORT_MAX_BYTES;
  app.setValidatorCompiler(typeboxValidatorCompiler);
  app.addHook('onRequest', importAuth(config));
  // Items read, valid or refused: refusing costs CPU too (~10 µs a CSV row), so it counts.
  const importRate = new EventRate({
    max: config.INGEST_IMPORT_EVENT_RATE_MAX,
    windowMs: config.INGEST_RATE_LIMIT_WINDOW_MS,
    bucket: 'key',
    setting: 'INGEST_IMPORT_EVENT_RATE_MAX',
  });
  // NOTE: the body is never buffered: these parsers hand the request stream to the handler as is.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(Object.keys(MEDIA_TYPES), (_request, payload, done) => done(null, payload));
  // Any other type (text/plain, application/octet-stream) too: `?format=` says how to read it, and
  // without it the handler answers 415 naming the types it reads.
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  await app.register(multipart, {
    limits: { fileSize: max, files: 1, fields: 10, parts: 20 },
    throwFileSizeLimit: true,
  });

  app.post(
    '/v1/import',
    {
      schema: {
        summary: 'Import interactions from a file',
        description:
          'NDJSON (one event per line), a JSON array of events, or CSV with a header row (columns: the event fields, ' +
          '`properties.<key>` columns or a `properties` column holding a JSON object). Send the file as the raw body ' +
          '(Content-Type application/x-ndjson, application/json or text/csv) or as the one file of a multipart/form-data ' +
          'upload (format from its content type or file name, or ?format=). The file is streamed and produced in chunks; ' +
          'the answer summarises what was accepted and lists the refused lines (capped). 202 all accepted, 207 some ' +
          'refused, 400 none valid, 413 larger than INGEST_IMPORT_MAX_BYTES, 503 Kafka unavailable (the message says ' +
          'how many events were accepted before).',
        tags: ['ingest'],
        security: [{ bearer: [] }, { writeKeyHeader: [] }, { writeKeyQuery: [] }],
        consumes: ['multipart/form-data', ...Object.keys(MEDIA_TYPES)],
        querystring: ImportQuerySchema,
        body: Type.Unknown({
          description:
            'The file as the raw body, or multipart/form-data with one file part; streamed, never validated as a whole',
        }),
        response: { 202: ImportSummarySchema, 207: ImportSummarySchema, ...commonErrors },
      },
    },
    async (request, reply) => {
      let source: ByteSource;
      let format: Format | undefined = request.query.format;
      // Whether the upload had a file part after the one imported (only one is read).
      let moreFiles: () => Promise<boolean> = async () => false;
      if (request.isMultipart()) {
        const files = request.files();
        const part = await files.next().then(
          (next) => (next.done ? undefined : next.value),
          (error) => Promise.reject(multipartError(error)),
        );
        moreFiles = () =>
          files.next().then(
            (next) => !next.done,
            (error) =>
              (error as { code?: string }).code === 'FST_FILES_LIMIT'
                ? true
                : Promise.reject(multipartError(error)),
          );
        if (!part)
          throw new HttpError(400, 'NO_FILE', 'the multipart upload has no file part', [
            { path: 'body', message: 'has no file' },
          ]);
        const extension = part.filename.split('.').pop()?.toLowerCase() ?? '';
        format ??= mediaFormat(part.mimetype) ?? EXTENSIONS[extension];
        source = untruncated(part.file, max);
      } else {
        const declared = Number(request.headers['content-length']);
        if (declared > max)
          throw new HttpError(
            413,
            'PAYLOAD_TOO_LARGE',
            `the file is larger than ${max} bytes (INGEST_IMPORT_MAX_BYTES)`,
          );
        format ??= mediaFormat(request.headers['content-type']);
        source = limitBytes(request.body as Readable, max);
      }
      if (!format) {
        throw new HttpError(
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          'send NDJSON, a JSON array or CSV (or say which with ?format=)',
          [
            {
              path: 'headers.content-type',
              message: `must be one of ${Object.keys(MEDIA_TYPES).join(', ')}`,
            },
          ],
        );
      }
      let firstLine = 1;
      if (format === 'json') ({ format, source, firstLine } = await sniffJson(source, LIMITS.eventBytes));

      const summary = await runImport(readerFor(format, source, firstLine), {
        sink: app.events,
        userAgent:
          typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'] : undefined,
        chunkEvents: config.INGEST_IMPORT_CHUNK_EVENTS,
        maxRejections: config.INGEST_IMPORT_MAX_REJECTIONS,
        route: '/v1/import',
        keepParam,
        admit: (items) => importRate.take(request, items),
      });
      app.events.metrics.requestEvents.observe({ route: '/v1/import' }, summary.items);
      if (await moreFiles()) {
        throw new HttpError(
          400,
          'TOO_MANY_FILES',
          `the upload has more than one file; only the first was read (${summary.accepted} of its events were accepted): send one file per request`,
          [{ path: 'body', message: 'has more than one file part' }],
        );
      }
      if (summary.items === 0) {
        throw new HttpError(400, 'EMPTY_IMPORT', 'the file holds no events', [
          { path: 'body', message: 'is empty' },
        ]);
      }
      if (summary.accepted === 0) {
        throw new HttpError(
          400,
          'VALIDATION_FAILED',
          `none of the ${summary.items} items is valid${summary.rejectedTruncated ? ` (the first ${summary.rejected.length} are listed)` : ''}`,
          summary.rejected.flatMap((r) =>
            r.errors.map((e) => ({
              path: e.path ? `line.${r.line}.${e.path}` : `line.${r.line}`,
              message: e.message,
            })),
          ),
        );
      }
      return reply.code(summary.rejectedCount > 0 ? 207 : 202).send({ format, ...summary });
    },
  );
}
