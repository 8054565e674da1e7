// Playwright side of the in-page harness: a fixture server per worker, and runScenario(), which
// loads a harness page, performs the driver steps the page asks for, and returns its result.
import { test as base, expect } from '@playwright/test';
import { harnessPath } from './pages/catalog.js';
import { startServer } from './server.mjs';
import { describeFiles, filesForStep } from './upload-files.mjs';

export { expect };

export const test = base.extend({
  server: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const server = await startServer({ port: 0 });
      await use(server);
      await server.stop();
    },
    { scope: 'worker' },
  ],
});

/** What the page can ask the driver for (see ctx.driver in pages/context.js). */
const STEPS = {
  offline: ({ context }) => context.setOffline(true),
  online: ({ context }) => context.setOffline(false),
};

let runs = 0;

/**
 * @param {{ page: import('@playwright/test').Page, context: import('@playwright/test').BrowserContext,
 *   server: { url: string }, entry: { name: string, timeout: number }, build: string,
 *   testInfo: import('@playwright/test').TestInfo }} args
 */
export async function runScenario({ page, context, server, entry, build, testInfo }) {
  const key = `${entry.name}-${build}-${testInfo.project.name}-w${testInfo.workerIndex}-${++runs}`;
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err?.message ?? err}`));
  page.on('console', (msg) => msg.type() === 'error' && pageErrors.push(`console: ${msg.text()}`));
  await page.goto(new URL(harnessPath(entry, build, key), server.url).href);

  const deadline = Date.now() + entry.timeout + 3000;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`${entry.name}: no result in time\n${pageErrors.join('\n')}`);
    let handle;
    try {
      handle = await page.waitForFunction(
        () => {
          const result = window.__heartline_result;
          if (result) return { result };
          return window.__heartline_wait ? { wait: window.__heartline_wait } : null;
        },
        undefined,
        { timeout: remaining, polling: 50 },
      );
    } catch (err) {
      throw new Error(`${entry.name}: ${err.message}\n${pageErrors.join('\n')}`);
    }
    const { result, wait } = await handle.jsonValue();
    if (result) return { ...result, pageErrors };
    const files = filesForStep(wait);
    if (files) {
      // As a user picks them: the page's <input type=file id=hl-files multiple>.
      await page.setInputFiles('#hl-files', files.map((f) => f.path));
      await page.evaluate((info) => window.__heartline_continue(info), describeFiles(files));
      continue;
    }
    const step = STEPS[wait];
    if (!step) throw new Error(`${entry.name}: the page asked for an unknown driver step '${wait}'`);
    await step({ page, context });
    await page.evaluate(() => window.__heartline_continue());
  }
}

/** Fail with everything the page recorded; on success print the scenario's measurements. */
export function expectPass(result, label) {
  if (!result.ok) {
    const details = [result.error, '--- events ---', ...(result.report ?? []), ...result.pageErrors].join('\n');
    expect(result.ok, details).toBe(true);
  }
  if (result.value && typeof result.value === 'object') console.log(`${label} ${JSON.stringify(result.value)}`);
}
