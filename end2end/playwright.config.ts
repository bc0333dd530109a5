import { defineConfig } from '@playwright/test';

/**
 * Rekindle's browser tests. `cargo leptos end-to-end` (scripts/test.sh) builds the site, starts
 * the server on 127.0.0.1:3000 and runs `npx playwright test` here; global-setup.ts waits for
 * the server, which cargo-leptos does not do.
 *
 * The browser is Debian's Chromium: Playwright's own download is not reachable here.
 */
export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  globalSetup: './global-setup.ts',

  // One worker: the machine has 2 cores and the server runs restorations on them too.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],

  // A restoration in a debug build takes up to a minute on this machine.
  timeout: 180_000,
  expect: { timeout: 15_000 },

  use: {
    baseURL: process.env.REKINDLE_E2E_BASE_URL ?? 'http://127.0.0.1:3000',
    headless: true,
    acceptDownloads: true,
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.REKINDLE_E2E_CHROMIUM ?? '/usr/bin/chromium',
      // Without the networking flags Chromium keeps dialling Google's hosts, which this
      // machine's closed network refuses.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },

  // Every main page is checked at a desktop and a phone size. The phone runs the specs about
  // what people see and touch; the rest (sessions, the live stream offline) does not depend on
  // the screen and runs once, on the desktop.
  projects: [
    {
      name: 'desktop',
      use: { browserName: 'chromium', viewport: { width: 1440, height: 900 } },
    },
    {
      name: 'phone',
      testMatch: ['journey.spec.ts', 'compare.spec.ts', 'accessibility.spec.ts'],
      use: {
        browserName: 'chromium',
        viewport: { width: 390, height: 844 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
      },
    },
  ],
});
