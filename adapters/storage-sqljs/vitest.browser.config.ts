import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { playwright } from '@vitest/browser-playwright';
import { defaultClientConditions } from 'vite';
import { defineProject } from 'vitest/config';

// Debian's Chromium (see .ci/system-deps.sh); never a browser downloaded by Playwright.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present) {
  console.warn(
    `[storage-sqljs] no Chromium at ${CHROMIUM}: browser tests skipped (.ci/system-deps.sh installs it)`,
  );
}

// The same adapter code, run again in real Chromium against its real IndexedDB.
export default defineProject({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: {
    conditions: ['@local-first/source', ...defaultClientConditions],
  },
  // Pre-bundled up front, so the page never reloads mid-run to optimise a late discovery.
  optimizeDeps: {
    include: ['sql.js', '@local-first/core > inversify', '@local-first/core > reflect-metadata'],
  },
  test: {
    // The node project of this package already has the plain name.
    name: 'adapters/storage-sqljs (browser)',
    include: present ? ['test/browser/**/*.browser.ts'] : [],
    passWithNoTests: !present,
    testTimeout: 30_000,
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      provider: playwright({
        launchOptions: {
          executablePath: CHROMIUM,
          args: [
            '--no-sandbox',
            '--headless',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
          ],
        },
      }),
      instances: [{ browser: 'chromium', name: 'adapters/storage-sqljs (chromium)' }],
    },
  },
});
