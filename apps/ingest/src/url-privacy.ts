/**
 * What of a URL is stored: never its fragment (`#access_token=…`), and of its query only the
 * parameters the operator allows (INGEST_URL_QUERY_ALLOW, default `utm_*`), since query strings carry
 * reset tokens, session ids and e-mail addresses. The browser snippet does the same before sending.
 */
export type ParamFilter = (name: string) => boolean;

/** What INGEST_URL_QUERY_ALLOW is when unset: campaign parameters only. */
export const DEFAULT_QUERY_ALLOW: readonly string[] = ['utm_*'];

/** A filter from allow-list entries: exact names, `prefix*`, `*` for every parameter, `none` for none. */
export function queryAllowList(entries: readonly string[]): ParamFilter {
  if (entries.includes('*')) return () => true;
  if (entries.length === 1 && entries[0] === 'none') return () => false;
  const exact = new Set(entries.filter((e) => !e.endsWith('*')));
  const prefixes = entries.filter((e) => e.endsWith('*')).map((e) => e.slice(0, -1));
  return (name) => exact.has(name) || prefixes.some((p) => name.startsWith(p));
}

/** `?a=1&b=2` with only the allowed parameters ('' when none is left); order and encoding kept. */
function keptQuery(search: string, keep: ParamFilter): string {
  if (search.length <= 1) return '';
  const kept = search
    .slice(1)
    .split('&')
    .filter((pair) => {
      if (pair === '') return false;
      const eq = pair.indexOf('=');
      const raw = eq === -1 ? pair : pair.slice(0, eq);
      let name: string;
      try {
        name = decodeURIComponent(raw.replaceAll('+', ' '));
      } catch {
        return false; // a name that cannot be decoded is allowed by no list
      }
      return keep(name);
    });
  return kept.length > 0 ? `?${kept.join('&')}` : '';
}

/** A query string (`?a=1&utm_source=x`) with only the allowed parameters ('' when none is left). */
export function scrubQuery(search: string, keep: ParamFilter): string {
  const hash = search.indexOf('#');
  return keptQuery(hash === -1 ? search : search.slice(0, hash), keep);
}

/** A stored page (`/path?query`, fragment already gone) with only the allowed parameters. */
export function scrubPage(page: string, keep: ParamFilter): string {
  const q = page.indexOf('?');
  return q === -1 ? page : `${page.slice(0, q)}${keptQuery(page.slice(q), keep)}`;
}

/** An absolute URL (a referrer) without fragment or disallowed parameters; other text unchanged. */
export function scrubUrl(value: string, keep: ParamFilter): string {
  if (!/^https?:\/\//i.test(value) || !URL.canParse(value)) return value;
  const url = new URL(value);
  return `${url.origin}${url.pathname}${keptQuery(url.search, keep)}`;
}

/**
 * The properties the browser snippet fills from the location, scrubbed like the page: `referrer`
 * (an absolute URL) and `hash` (a fragment, dropped). Other properties are the site's own choice.
 */
export function scrubProperties<T extends Record<string, unknown>>(properties: T, keep: ParamFilter): T {
  const { referrer, hash } = properties;
  const fragment = typeof hash === 'string' && hash.startsWith('#');
  const dirtyReferrer = typeof referrer === 'string' && scrubUrl(referrer, keep) !== referrer;
  if (!fragment && !dirtyReferrer) return properties;
  const out: Record<string, unknown> = { ...properties };
  if (fragment) delete out.hash;
  if (dirtyReferrer) out.referrer = scrubUrl(referrer as string, keep);
  return out as T;
}
