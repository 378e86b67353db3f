import { createTracker } from './create-tracker.js';
import { readScriptConfig } from './script-config.js';
import type { Tracker } from './types.js';

/**
 * The classic-script build (dist/tracker.js): configured by its own <script> tag, exposed as
 * `window.tracker`. Calls a page made before the script loaded, on a stub `{ q: [[method, ...args]] }`,
 * are replayed in order.
 */
type Stub = { q?: [keyof Tracker, ...unknown[]][]; enabled?: boolean };
const w = window as unknown as { tracker?: Tracker | Stub };
const stub = w.tracker as Stub | undefined;
if (stub?.enabled === undefined) {
  // The queued calls run before the first automatic page view, so that it is the queued identify's.
  createTracker(readScriptConfig(document.currentScript as HTMLScriptElement | null), (tracker) => {
    w.tracker = tracker;
    for (const [method, ...args] of stub?.q || []) {
      const fn = tracker[method];
      if (typeof fn === 'function') (fn as (...a: unknown[]) => void)(...args);
    }
  });
}
