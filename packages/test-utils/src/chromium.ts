import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, Type } from '@tracker/config';
import { type BrowserContext, chromium, type LaunchOptions } from 'playwright-core';

/** Where Debian's chromium package puts the browser. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

const BrowserEnvSchema = Type.Object({
  /** The Chromium binary the browser tests drive. */
  CHROMIUM_PATH: Type.String({ minLength: 1, default: DEFAULT_CHROMIUM }),
});

/** Flags for a quiet, deterministic headless Chromium (no network chatter, no GPU, no sandbox in CI). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
] as const;

/** The Chromium binary: CHROMIUM_PATH, else /usr/bin/chromium; a clear error when there is none. */
export function chromiumPath(env?: NodeJS.ProcessEnv): string {
  const path = loadConfig(BrowserEnvSchema, env).CHROMIUM_PATH;
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(
      `Chromium not found at ${path}. The dashboard tests drive Debian's chromium package: install it with ` +
        '`sudo apt-get install -y chromium` (./tracker test does this), or set CHROMIUM_PATH to a Chromium binary.',
    );
  }
  return path;
}

export interface LaunchedChromium {
  /** A persistent context on a fresh, throw-away profile directory. */
  context: BrowserContext;
  /** Closes the browser and deletes the profile. */
  close(): Promise<void>;
}

export type ChromiumContextOptions = Omit<
  NonNullable<Parameters<typeof chromium.launchPersistentContext>[1]>,
  'executablePath' | 'args' | 'headless'
> &
  Pick<LaunchOptions, 'env'>;

/**
 * Starts headless Chromium through playwright-core with a fresh user-data-dir (no state shared with
 * other runs or test files). Options are the persistent context's (viewport, colorScheme, timezoneId,
 * acceptDownloads, ...).
 */
export async function launchChromium(options: ChromiumContextOptions = {}): Promise<LaunchedChromium> {
  const executablePath = chromiumPath();
  const profile = await mkdtemp(join(tmpdir(), 'tracker-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      ...options,
      executablePath,
      headless: true,
      args: [...CHROMIUM_FLAGS],
    });
    let closed = false;
    return {
      context,
      async close() {
        if (closed) return;
        closed = true;
        await context.close().catch(() => {});
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}
