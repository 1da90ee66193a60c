import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, CHROMIUM_ARGS } from '@local-first/test-services';
import { type Browser, chromium } from 'playwright-core';
import { build } from 'vite';

export const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

export { CHROMIUM };

/** True when Chromium is installed; otherwise says loudly which test is skipped and why. */
export function chromiumPresent(what: string): boolean {
  const present = existsSync(CHROMIUM);
  if (!present) {
    console.warn(
      `\n[todo-web] ******** NO CHROMIUM AT ${CHROMIUM}: ${what} IS SKIPPED ********\n` +
        '[todo-web] install it with `pnpm setup:system` (.ci/system-deps.sh)\n',
    );
  }
  return present;
}

/** Builds the app as `pnpm start` does, into `outDir`. */
export async function buildApp(outDir: string): Promise<void> {
  await build({
    configFile: join(APP_DIR, 'vite.config.ts'),
    build: { outDir, emptyOutDir: true },
    logLevel: 'warn',
  });
}

/** Headless Chromium with nothing running beside the pages; `args` are more switches. */
export function launchChromium(args: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [...args, ...CHROMIUM_ARGS],
  });
}
