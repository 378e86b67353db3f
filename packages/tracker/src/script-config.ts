import type { TrackerConfig } from './types.js';

/** `data-x="false"` or `"0"` is off; present with any other value (or none) is on; absent is `fallback`. */
function flag(value: string | undefined, fallback: boolean): boolean {
  return value === undefined ? fallback : value !== 'false' && value !== '0';
}

function num(value: string | undefined): number | undefined {
  const n = Number(value);
  return value && Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * The configuration written on the snippet's own <script> tag. Without data-ingest-url, ingest is
 * where the script came from (ingest serves it at /v1/tracker.js).
 */
export function readScriptConfig(script: HTMLScriptElement | null): TrackerConfig {
  const d = script?.dataset || {};
  const clicks = d.trackClicks;
  return {
    ingestUrl: d.ingestUrl || new URL(script?.src || location.href, location.href).origin,
    writeKey: d.writeKey,
    userId: d.userId,
    role: d.role,
    trackClicks: clicks ? flag(clicks, true) && clicks : undefined,
    trackForms: flag(d.trackForms, true),
    autoPageview: flag(d.autoPageview, true),
    respectDnt: flag(d.respectDnt, true),
    allowParams: (d.allowParams || '')
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
    debug: flag(d.debug, false),
    batchSize: num(d.batchSize),
    flushInterval: num(d.flushInterval),
  };
}
