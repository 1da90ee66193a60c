/** Debian's Chromium (`.ci/system-deps.sh` installs it); never a browser a test tool downloads. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * How the project's tests and benchmarks start it: headless, as root, with nothing running
 * beside the pages (this machine's closed network refuses Chromium's own connections). The
 * two `vitest.browser.config.ts` files repeat the list: Node loads a config as it is, and
 * cannot import this TypeScript source from there.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
