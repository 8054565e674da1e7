// The e2e scenarios in WebKit (WebKitGTK MiniBrowser through WebKitWebDriver). Needs an X display:
// run as `xvfb-run -a node e2e/webkit.mjs [--grep REGEX]`. Prints one line per scenario run and
// ends with exactly `webkit: N passed, N failed`; exits non-zero on any failure or when nothing ran.
import { catalog, harnessPath } from './pages/catalog.js';
import { startServer } from './server.mjs';
import { describeFiles, filesForStep } from './upload-files.mjs';
import { newSession, startDriver } from './webdriver.mjs';

const DRIVER = '/usr/bin/WebKitWebDriver';
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
/** Catalog `needs` WebKit cannot meet here, and why (see e2e/pages/catalog.js). */
const UNSUPPORTED = {
  offline: 'WebKitWebDriver has no network emulation (offline/online)',
  'close-1013': 'WebKitGTK reports a server close 1012/1013/1014 as 1006',
};
const POLL_MS = 100;

const READ_RESULT = `
  const result = window.__heartline_result;
  if (result) return { result: JSON.parse(JSON.stringify(result)) };
  return window.__heartline_wait ? { wait: String(window.__heartline_wait) } : null;`;

function selectRuns(grep) {
  const runs = [];
  const notRunnable = [];
  for (const entry of catalog) {
    for (const build of entry.builds) {
      const label = `${entry.name} [${build}]`;
      if (grep && !grep.test(label)) continue;
      const missing = (entry.needs ?? []).filter((need) => UNSUPPORTED[need]);
      if (missing.length) notRunnable.push(`${label}: ${missing.map((need) => UNSUPPORTED[need]).join('; ')}`);
      else runs.push({ entry, build, label });
    }
  }
  return { runs, notRunnable };
}

/** Navigate and poll the page (WebDriver classic has no push) until it publishes a result. */
async function runOne(session, server, { entry, build }, index) {
  const key = `${entry.name}-${build}-webkit-${index}`;
  await session.navigate(new URL(harnessPath(entry, build, key), server.url).href);
  const deadline = Date.now() + entry.timeout + 5000;
  while (Date.now() < deadline) {
    const state = await session.execute(READ_RESULT);
    if (state?.result) return state.result;
    const files = state?.wait && filesForStep(state.wait);
    if (files) {
      await session.pickFiles('#hl-files', files.map((f) => f.path));
      await session.execute('window.__heartline_continue(arguments[0])', [describeFiles(files)]);
      continue;
    }
    if (state?.wait) return { ok: false, error: `the page asked for driver step '${state.wait}', which this driver cannot do` };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return { ok: false, error: `no result within ${entry.timeout + 5000} ms` };
}

async function main() {
  const at = process.argv.indexOf('--grep');
  const grep = at > 0 ? new RegExp(process.argv[at + 1]) : null;
  const { runs, notRunnable } = selectRuns(grep);
  let passed = 0;
  let failed = 0;
  const server = await startServer({ port: 0 });
  let driver;
  let session;
  try {
    driver = await startDriver(DRIVER);
    session = await newSession(driver.base, {
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
    });
    for (const [index, run] of runs.entries()) {
      const started = Date.now();
      let result;
      try {
        result = await runOne(session, server, run, index);
      } catch (err) {
        result = { ok: false, error: String(err?.message ?? err) };
      }
      const ms = Date.now() - started;
      if (result.ok) {
        passed += 1;
        console.log(`  ✓ [webkit] ${run.label} (${ms} ms) ${JSON.stringify(result.value)}`);
      } else {
        failed += 1;
        console.log(`  ✘ [webkit] ${run.label} (${ms} ms)\n${[result.error, ...(result.report ?? [])].map((l) => `      ${l}`).join('\n')}`);
      }
    }
  } catch (err) {
    failed += 1;
    console.log(`  ✘ [webkit] could not drive WebKit: ${err?.message ?? err}`);
  } finally {
    await session?.close().catch((err) => console.log(`  (webkit: closing the session failed: ${err.message})`));
    await driver?.stop();
    await server.stop();
  }
  if (notRunnable.length) console.log(`webkit: not runnable here — ${notRunnable.join(' | ')}`);
  console.log(`webkit: ${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

process.exitCode = await main();
