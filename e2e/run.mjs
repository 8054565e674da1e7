// `npm run test:e2e`: the fixture server's self-test, Playwright (Chromium, Firefox), then WebKit
// under xvfb-run. Prints per-engine counts and ends with `e2e: N passed, N failed` (the browser
// runs summed); exits non-zero if anything failed, was skipped, or if no test ran at all.
// Options: --grep REGEX (passed to Playwright and to e2e/webkit.mjs).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PLAYWRIGHT_JSON = `${ROOT}test-results/playwright.json`;

/** Run a command from the repo root; stream its output, and keep it when `capture`. */
function run(command, args, { capture = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (chunk) => {
      process.stdout.write(chunk);
      out += chunk;
    });
    child.once('error', (err) => resolve({ code: 127, out: `${out}\n${err.message}` }));
    child.once('close', (code, signal) => resolve({ code: code ?? 128, signal, out }));
  });
}

/** Per-project counts from Playwright's JSON report. */
function playwrightCounts() {
  const counts = {};
  const walk = (suite) => {
    for (const child of suite.suites ?? []) walk(child);
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests ?? []) {
        const c = (counts[t.projectName] ??= { passed: 0, failed: 0, skipped: 0 });
        if (t.status === 'expected') c.passed += 1;
        else if (t.status === 'skipped') c.skipped += 1;
        else c.failed += 1;
      }
    }
  };
  for (const suite of JSON.parse(readFileSync(PLAYWRIGHT_JSON, 'utf8')).suites ?? []) walk(suite);
  return counts;
}

async function main() {
  const at = process.argv.indexOf('--grep');
  const grep = at > 0 ? process.argv[at + 1] : null;
  const lines = [];
  let problems = 0;

  if (!existsSync(`${ROOT}dist/heartline.mjs`) || !existsSync(`${ROOT}dist/heartline.iife.min.js`)) {
    console.log('e2e: dist/ is missing, building it (npm run build)');
    if ((await run('npm', ['run', 'build'])).code !== 0) return console.log('e2e: build failed'), 1;
  }

  const self = await run('node', ['--test', '--test-reporter=spec', 'e2e/server-selftest.mjs', 'e2e/protocol-selftest.mjs'], { capture: true });
  const selfPass = Number(/ℹ pass (\d+)/.exec(self.out)?.[1] ?? 0);
  const selfFail = Number(/ℹ fail (\d+)/.exec(self.out)?.[1] ?? 0);
  if (self.code !== 0 || selfFail > 0 || selfPass === 0) problems += 1;
  lines.push(`fixture server self-test: ${selfPass} passed, ${selfFail} failed`);

  rmSync(PLAYWRIGHT_JSON, { force: true });
  const pw = await run('npx', ['playwright', 'test', ...(grep ? ['--grep', grep] : [])]);
  const sum = { passed: 0, failed: 0 };
  if (existsSync(PLAYWRIGHT_JSON)) {
    for (const [project, c] of Object.entries(playwrightCounts())) {
      sum.passed += c.passed;
      sum.failed += c.failed + c.skipped; // skipped tests are not allowed here
      lines.push(`${project}: ${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped (not allowed)` : ''}`);
    }
  } else {
    sum.failed += 1;
    lines.push(`playwright: no report (exit code ${pw.code})`);
  }
  if (pw.code !== 0 && sum.failed === 0) sum.failed += 1; // crashed after writing a clean report

  const wk = await run('xvfb-run', ['-a', 'node', 'e2e/webkit.mjs', ...(grep ? ['--grep', grep] : [])], { capture: true });
  const wkCounts = /^webkit: (\d+) passed, (\d+) failed$/m.exec(wk.out);
  if (wkCounts) {
    sum.passed += Number(wkCounts[1]);
    sum.failed += Number(wkCounts[2]);
    lines.push(`webkit: ${wkCounts[1]} passed, ${wkCounts[2]} failed`);
  } else {
    sum.failed += 1;
    lines.push(`webkit: no summary (xvfb-run exit code ${wk.code})`);
  }
  if (wk.code !== 0 && wkCounts && Number(wkCounts[2]) === 0) sum.failed += 1;

  console.log(`\n${lines.join('\n')}`);
  console.log(`e2e: ${sum.passed} passed, ${sum.failed} failed`);
  return sum.failed === 0 && sum.passed > 0 && problems === 0 ? 0 : 1;
}

process.exitCode = await main();
