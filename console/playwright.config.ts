import { defineConfig } from '@playwright/test';
import { resolve } from 'node:path';

// The stack under test: the local runner binary (built by cargo), serving the
// freshly built console from dist/ at /console/ on a free loopback port that
// scripts/console-test.sh picks (WADESK_E2E_PORT).
const port = Number(process.env.WADESK_E2E_PORT ?? 18080);
const runnerBin = resolve(
  import.meta.dirname,
  '..',
  process.env.WADESK_RUNNER_BIN ?? 'target/debug/wadesk-local',
);
// WADESK_E2E_VIA_PREVIEW=1: a runner that does not serve /console/ yet sits
// behind `vite preview`, which serves dist/ and proxies the API to it.
const viaPreview = process.env.WADESK_E2E_VIA_PREVIEW === '1';
const runnerPort = viaPreview ? port + 1 : port;
const baseURL = `http://127.0.0.1:${port}`;

const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const runner = {
  command: runnerBin,
  url: `http://127.0.0.1:${runnerPort}/openapi.json`,
  reuseExistingServer: false,
  timeout: 60_000,
  stdout: 'ignore' as const,
  stderr: 'pipe' as const,
  env: {
    WADESK_LISTEN: `127.0.0.1:${runnerPort}`,
    WADESK_CONSOLE_DIR: resolve(import.meta.dirname, 'dist'),
    WADESK_BOOTSTRAP_ADMINS: 'admin',
    RUST_LOG: 'warn',
  },
};

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results/artifacts',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 5_000 },
  reporter: [['list'], ['json', { outputFile: 'test-results/e2e.json' }]],
  use: {
    baseURL,
    browserName: 'chromium',
    viewport: { width: 1100, height: 700 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: chromiumArgs,
    },
    trace: 'off',
    screenshot: 'off',
  },
  webServer: viaPreview
    ? [
        runner,
        {
          command: `npx vite preview --host 127.0.0.1 --port ${port} --strictPort`,
          url: `${baseURL}/console/`,
          reuseExistingServer: false,
          timeout: 30_000,
          env: { WADESK_RUNNER_URL: `http://127.0.0.1:${runnerPort}` },
        },
      ]
    : [runner],
});
