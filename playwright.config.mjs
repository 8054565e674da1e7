// Chromium and Firefox from Debian, launched exactly as ../shared/BROWSERS.md says (no downloads,
// no traffic but loopback). WebKit runs the same scenarios through e2e/webkit.mjs.
import { defineConfig } from '@playwright/test';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--disable-default-apps',
  '--disable-extensions',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost',
];

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
        launchOptions: { executablePath: '/usr/lib/chromium/chromium', args: CHROMIUM_ARGS },
      },
    },
    {
      name: 'firefox',
      use: {
        browserName: 'firefox',
        channel: 'moz-firefox',
        launchOptions: {
          executablePath: '/usr/bin/firefox-esr',
          firefoxUserPrefs: { 'network.dns.localDomains': 'firefox.settings.services.mozilla.com' },
        },
      },
    },
  ],
});
