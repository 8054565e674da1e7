// The Debian browsers and the launch settings of ../shared/BROWSERS.md, shared by the e2e suite
// (playwright.config.mjs) and the benchmarks (bench/): no traffic but loopback.
export const CHROMIUM = process.env.HEARTLINE_CHROMIUM || '/usr/lib/chromium/chromium';

export const CHROMIUM_ARGS = [
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

export const FIREFOX = '/usr/bin/firefox-esr';
export const FIREFOX_PREFS = { 'network.dns.localDomains': 'firefox.settings.services.mozilla.com' };
