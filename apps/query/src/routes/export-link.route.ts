import type { TrackerApp } from '@tracker/http';
import { Type } from 'typebox';
import { EXPORT_PATH, type ExportLinks } from '../export-link.js';
import { toFilters } from '../filters.js';
import { ErrorRef, ExportLinkSchema } from '../schemas/responses.schema.js';
import { ExportQuerySchema } from './export.route.js';

/** /api/export's parameters, less the ways to authenticate (a key, a signature). */
export const ExportLinkQuerySchema = Type.Omit(ExportQuerySchema, ['key', 'expires', 'sig'], {
  additionalProperties: false,
});

export interface ExportLinkOptions {
  /** Undefined when no read keys are configured: the link is then the plain, open export URL. */
  links: ExportLinks | undefined;
}

export async function exportLinkRoute(app: TrackerApp, opts: ExportLinkOptions): Promise<void> {
  app.post(
    '/export/link',
    {
      schema: {
        summary: 'A short-lived signed /api/export URL, so a download link never carries the read key',
        description:
          'Takes the parameters of GET /api/export (in the query string) and answers a URL for exactly those, ' +
          'signed (HMAC-SHA256) and valid for QUERY_EXPORT_LINK_TTL_S seconds. Browsers navigate to it to stream the ' +
          'download. Changing, adding or removing a parameter, or using it late, is a 401.',
        tags: ['interactions'],
        security: [{ bearer: [] }],
        querystring: ExportLinkQuerySchema,
        response: { 200: ExportLinkSchema, 400: ErrorRef, 401: ErrorRef, 429: ErrorRef },
      },
    },
    async (request) => {
      // The filters are checked now (from before to, ...), not when the link is followed.
      toFilters(request.query);
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(request.query))
        if (value !== undefined) params.set(name, String(value));
      if (!opts.links) return { url: `${EXPORT_PATH}?${params}`, expiresAt: null };
      return opts.links.sign(params);
    },
  );
}
