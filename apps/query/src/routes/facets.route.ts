import type { TrackerApp } from '@tracker/http';
import { Type } from 'typebox';
import { FACETS, type Facet, readFacets } from '../repositories/facets.repository.js';
import { ErrorRef, FacetsSchema } from '../schemas/responses.schema.js';

export const FacetsQuerySchema = Type.Object(
  {
    q: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: 'Case-insensitive substring the values must contain',
      }),
    ),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Values per facet (1-500)' }),
    ),
    facet: Type.Optional(
      Type.Union(
        FACETS.map((f) => Type.Literal(f)),
        { description: 'Only this facet (the others come back empty)' },
      ),
    ),
  },
  { additionalProperties: false },
);

export async function facetsRoute(app: TrackerApp): Promise<void> {
  app.get(
    '/facets',
    {
      schema: {
        summary: 'Known users, roles, actions and pages, for filter lists',
        description:
          'Read from the user and aggregate tables (never a scan of raw interactions). `q` narrows every facet ' +
          'to values containing it, ignoring case; values starting with it come first. Then most frequent first, ' +
          'ties by value. users: count = interactions; roles: count = users holding the role now.',
        tags: ['interactions'],
        security: [{ bearer: [] }],
        querystring: FacetsQuerySchema,
        response: { 200: FacetsSchema, 400: ErrorRef, 401: ErrorRef, 429: ErrorRef },
      },
    },
    async (request) => {
      const { q, limit = 50, facet } = request.query;
      const wanted: readonly Facet[] = facet ? [facet] : FACETS;
      return readFacets(app.db.prisma, wanted, { q, limit });
    },
  );
}
