import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';

// `pnpm --filter @local-first/todo-web dev` serves the app with hot reload and forwards /sync
// to a sync server started with `pnpm start` (or SYNC_SERVER), so the app's same-origin URL
// works in development as it does when the server serves the built app.
const syncServer = process.env.SYNC_SERVER ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Workspace packages are used from their TypeScript sources; nothing needs building first.
  resolve: { conditions: ['@local-first/source', ...defaultClientConditions] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: {
    proxy: { '/sync': { target: syncServer, ws: true } },
  },
});
