// Chromium and Firefox from Debian, launched exactly as ../shared/BROWSERS.md says (no downloads,
// no traffic but loopback). WebKit runs the same scenarios through e2e/webkit.mjs.
import { defineConfig } from '@playwright/test';
import { CHROMIUM, CHROMIUM_ARGS, FIREFOX, FIREFOX_PREFS } from './e2e/browsers.mjs';

export default defineConfig({
  testDir: 'e2e',
  testMatch: /\.spec\.mjs$/,
  fullyParallel: true,
  workers: 2,
  retries: 0,
  timeout: 30000,
  forbidOnly: true,
  reporter: [['list'], ['json', { outputFile: 'test-results/playwright.json' }]],
  outputDir: 'test-results/artifacts',
  use: { trace: 'off', screenshot: 'off', video: 'off', actionTimeout: 10000, navigationTimeout: 10000 },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS },
      },
    },
    {
      name: 'firefox',
      use: {
        browserName: 'firefox',
        channel: 'moz-firefox',
        launchOptions: {
          executablePath: FIREFOX,
          firefoxUserPrefs: FIREFOX_PREFS,
        },
      },
    },
  ],
});
