/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

// Where `npm run dev` sends API calls: a local runner (`cargo run -p wadesk-local-runner`).
const runner = process.env.WADESK_RUNNER_URL ?? 'http://127.0.0.1:8080';
const apiPrefixes = [
  '/me',
  '/conversations',
  '/uploads',
  '/customers',
  '/supervise',
  '/admin',
  '/analytics',
  '/wrap-up-reasons',
  '/_local',
];

// In development the console's runtime configuration comes from here; in
// production whoever serves the built files serves `config.json` beside them.
const serveConfig = (_req: unknown, res: import('node:http').ServerResponse) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ api_base_url: '', live_url: '/live', auth: { mode: 'local' } }));
};

function devConfigJson(): Plugin {
  return {
    name: 'wadesk-dev-config',
    configureServer(server) {
      server.middlewares.use('/console/config.json', serveConfig);
    },
    configurePreviewServer(server) {
      server.middlewares.use('/console/config.json', serveConfig);
    },
  };
}

export default defineConfig({
  base: '/console/',
  plugins: [react(), devConfigJson()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 400 },
  preview: {
    proxy: Object.fromEntries([
      ...apiPrefixes.map((p) => [p, { target: runner, changeOrigin: true }]),
      ['/live', { target: runner, changeOrigin: true, ws: true }],
    ]),
  },
  server: {
    proxy: Object.fromEntries([
      ...apiPrefixes.map((p) => [p, { target: runner, changeOrigin: true }]),
      ['/live', { target: runner, changeOrigin: true, ws: true }],
    ]),
  },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    environment: 'node',
  },
});
