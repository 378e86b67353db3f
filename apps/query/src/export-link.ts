import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** What a request's query string says about its export-link signature. */
export type LinkVerdict = 'unsigned' | 'valid' | 'expired' | 'invalid';

export interface ExportLinks {
  /** `/api/export?<params>&expires=<unix s>&sig=<hmac>`, valid for the configured lifetime from `now`. */
  sign(params: URLSearchParams, now?: number): { url: string; expiresAt: string };
  /** Checks the raw query string (`?a=1&...`) of an /api/export request. */
  verify(search: string, now?: number): LinkVerdict;
}

export const EXPORT_PATH = '/api/export';

/** Parameters in one order (name, then value), so signer and checker read the same bytes. */
function canonical(params: URLSearchParams): string {
  const entries = [...params].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return new URLSearchParams(entries).toString();
}

/**
 * Short-lived signed export URLs, so a download link never carries a read key. HMAC-SHA256 keyed by
 * a secret derived from the read keys: every replica with the same QUERY_READ_KEYS agrees without
 * shared state, and removing a key invalidates the links made with the old set. Undefined without
 * keys (the export is open then).
 */
export function createExportLinks(readKeys: readonly string[], ttlS: number): ExportLinks | undefined {
  if (readKeys.length === 0) return undefined;
  const secret = Buffer.from(
    hkdfSync('sha256', JSON.stringify([...readKeys].sort()), 'tracker-query', 'export-link v1', 32),
  );
  const mac = (query: string) => createHmac('sha256', secret).update(`GET ${EXPORT_PATH}?${query}`).digest();

  return {
    sign(params, now = Date.now()) {
      const signed = new URLSearchParams(params);
      signed.delete('expires');
      signed.delete('sig');
      const expires = Math.floor(now / 1000) + ttlS;
      signed.set('expires', String(expires));
      const query = canonical(signed);
      return {
        url: `${EXPORT_PATH}?${query}&sig=${mac(query).toString('base64url')}`,
        expiresAt: new Date(expires * 1000).toISOString(),
      };
    },
    verify(search, now = Date.now()) {
      const params = new URLSearchParams(search);
      if (!params.has('sig') && !params.has('expires')) return 'unsigned';
      const sigs = params.getAll('sig');
      const expires = params.getAll('expires');
      params.delete('sig');
      const query = canonical(params);
      // Exactly the bytes the server handed out: a re-encoded, reordered or extended URL is refused,
      // so the route cannot read different parameters than the ones signed.
      if (
        sigs.length !== 1 ||
        expires.length !== 1 ||
        search.replace(/^\?/, '') !== `${query}&sig=${sigs[0]}`
      )
        return 'invalid';
      const given = Buffer.from(sigs[0]!, 'base64url');
      const wanted = mac(query);
      if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return 'invalid';
      if (!/^\d{1,12}$/.test(expires[0]!) || Number(expires[0]) * 1000 < now) return 'expired';
      return 'valid';
    },
  };
}
