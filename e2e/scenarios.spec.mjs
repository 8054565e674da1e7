// Every scenario in e2e/pages/catalog.js, in each build it lists, in every Playwright project
// (Chromium and Firefox). The logic runs in the page; this file only drives it.
import { catalog } from './pages/catalog.js';
import { expectPass, runScenario, test } from './playwright-fixtures.mjs';

for (const entry of catalog) {
  for (const build of entry.builds) {
    test(`${entry.name} [${build}]`, async ({ page, context, server }, testInfo) => {
      test.setTimeout(entry.timeout + 8000);
      const result = await runScenario({ page, context, server, entry, build, testInfo });
      expectPass(result, `${testInfo.project.name} ${entry.name} [${build}]`);
    });
  }
}
