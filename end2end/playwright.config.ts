import { defineConfig } from '@playwright/test';

// The server under test: started by the README's run command (scripts/run.sh, which builds the
// release server when anything changed) on its own port, with a fresh temp-file database.
const port = Number(process.env.E2E_PORT ?? 3917);

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 2,
  forbidOnly: !!process.env.CI,
  // No retries, in CI either: a test that fails now and then is a bug to find, in the product or the
  // test, not something to hide.
  retries: 0,
  reporter: [['list']],
  // Every server under test must end the run without a single panic in its log.
  globalSetup: './fresh-logs.ts',
  globalTeardown: './no-panics.ts',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    launchOptions: {
      // Debian's Chromium: Playwright's own browser download is not reachable from our machines.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    { name: 'hydrated', testIgnore: /no-javascript/ },
    // The server-rendered page must be useful before (and without) the WASM.
    { name: 'no-javascript', testMatch: /no-javascript/, use: { javaScriptEnabled: false } },
  ],
  webServer: {
    command: `./serve-for-tests.sh ${port}`,
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    // The run command builds first: seconds when the release build is current, minutes when not.
    timeout: 15 * 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
