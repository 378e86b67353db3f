/** Query parameters always kept: campaign tags (utm_source, utm_medium, utm_campaign, ...). */
const CAMPAIGN = /^utm_/;

/**
 * `search` (`?a=1&b=2`) with only the utm_* parameters and those in `allow`, as written (not
 * re-encoded); `''` when none is left. Tokens and e-mail addresses in other parameters never leave.
 */
export function allowedSearch(search: string, allow: readonly string[]): string {
  const kept = search
    .slice(1)
    .split('&')
    .filter((pair) => {
      let name = pair.split('=')[0]!;
      try {
        name = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // A malformed escape: compared as written.
      }
      return pair !== '' && (CAMPAIGN.test(name) || allow.includes(name));
    });
  return kept.length > 0 ? `?${kept.join('&')}` : '';
}

/** `url` as origin + path + allowed parameters: never its fragment; `''` when it is not a URL. */
export function cleanUrl(url: string, allow: readonly string[]): string {
  try {
    const u = new URL(url, location.href);
    return u.origin === 'null' ? '' : u.origin + u.pathname + allowedSearch(u.search, allow);
  } catch {
    return '';
  }
}
