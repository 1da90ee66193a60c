import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Text that only the server side carries: the engine's own messages, the JWT library's, the
 * database drivers' and the socket servers'. None of it belongs in what a browser downloads.
 */
const SERVER_MARKERS = [
  'no auth within the auth timeout',
  'too many messages; slow down',
  'the server could not handle this request',
  'server shutting down',
  // the server's metrics, and prom-client's
  'local_first_events_appended_total',
  'collectDefaultMetrics',
  // jose
  'JWSSignatureVerificationFailed',
  // better-sqlite3, pg, ws's server, socket.io's server
  'better-sqlite3',
  'pg-protocol',
  'handleUpgrade',
  'socket.io-adapter',
];

describe('the todo app as a browser downloads it', () => {
  let work: string;
  let code = '';
  let bytes = 0;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'lf-todo-bundle-'));
    const outDir = join(work, 'dist');
    await build({
      configFile: join(appDir, 'vite.config.ts'),
      // Unminified, so a name or message that slipped in can be found and reported.
      build: { outDir, emptyOutDir: true, minify: false },
      logLevel: 'warn',
    });
    const assets = join(outDir, 'assets');
    for (const file of await readdir(assets)) {
      if (!file.endsWith('.js')) continue;
      const text = await readFile(join(assets, file), 'utf8');
      code += text;
      bytes += Buffer.byteLength(text);
    }
  }, 120_000);
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('contains the client and no server code', () => {
    expect(bytes).toBeGreaterThan(0);
    // The client is there: the strategy's and the transport's own messages.
    expect(code).toContain('websocketUrl needs a URL');
    const found = SERVER_MARKERS.filter((marker) => code.includes(marker));
    expect({ found, bundleKiB: Math.round(bytes / 1024) }).toEqual({
      found: [],
      bundleKiB: Math.round(bytes / 1024),
    });
  });
});
