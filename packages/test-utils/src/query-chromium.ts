import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './services.js';

/** A launched browser as the query app's helper returns it; `P` is what a test uses of a page. */
export interface QueryChromium<P> {
  context: { newPage(): Promise<P> };
  close(): Promise<void>;
}

/**
 * Chromium from the query app's browser helper (Debian's chromium through playwright-core), loaded
 * from its build by path: test-utils cannot depend on an app (the apps depend on it).
 */
export async function launchQueryChromium<P>(): Promise<QueryChromium<P>> {
  const { launchChromium } = (await import(
    pathToFileURL(join(REPO_ROOT, 'apps/query/dist/dashboard-browser.js')).href
  )) as { launchChromium: () => Promise<QueryChromium<P>> };
  return launchChromium();
}
