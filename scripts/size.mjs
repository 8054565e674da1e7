// Byte budgets per import, checked on every test run (bundle bytes are deterministic, so this
// is a test, not a benchmark). Each entry is bundled from dist/ and minified the way an app's
// bundler would, so an import pays only for what it pulls in.
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { rollup } from 'rollup';
import { minify } from 'terser';

const dist = resolve('dist/heartline.mjs');
// Issue 12's hardening cost about 1,100 B on `connect` (the core's guards about 650, streamed and
// paced HTTP bodies about 340, uploads about 80) and issue 16's adapter store about 25; issue 13's
// restructuring is where these budgets come down to 3,500 / 5,000 / 8,000 B.
const budgets = [
  // [label, ESM source of the import (null: measure the file as shipped), gzip budget in bytes]
  // heartline/ws: the reconnecting WebSocket core alone (plain servers; no protocol, fallback or uploads).
  ["import { connect } from 'heartline/ws'", `export { connect } from ${JSON.stringify(resolve('dist/ws.mjs'))};`, 4500],
  ["import { connect } from 'heartline' (every transport, the protocol, uploads)", `export { connect } from ${JSON.stringify(dist)};`, 10150],
  ["import * from 'heartline'", `export * from ${JSON.stringify(dist)};`, 10350],
  ['dist/heartline.iife.min.js (script tag)', null, 10450],
  // The adapters alone: their framework and the core (`./heartline.mjs`, paid for above) external.
  ["import * from 'heartline/react' (React and the core external)", `export * from ${JSON.stringify(resolve('dist/react.mjs'))};`, 1000, ['react']],
  ["import * from 'heartline/vue' (Vue and the core external)", `export * from ${JSON.stringify(resolve('dist/vue.mjs'))};`, 1000, ['vue']],
];

const tmp = mkdtempSync(join(tmpdir(), 'heartline-size-'));
let failed = 0;
try {
  for (const [i, [label, source, budget, externals]] of budgets.entries()) {
    let code;
    if (source === null) code = readFileSync('dist/heartline.iife.min.js', 'utf8');
    else {
      const entry = join(tmp, `entry${i}.mjs`);
      writeFileSync(entry, source);
      const external = externals && ((id) => externals.includes(id) || /[/\\]?heartline\.mjs$/.test(id));
      const bundle = await rollup({ input: entry, logLevel: 'silent', ...(external && { external }) });
      const { output } = await bundle.generate({ format: 'es' });
      code = (await minify(output[0].code, { module: true, ecma: 2020, compress: { passes: 2 } })).code;
    }
    const gz = gzipSync(code, { level: 9 }).length;
    const br = brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
    const ok = gz <= budget;
    if (!ok) failed++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}: ${gz} B min+gz (budget ${budget}), ${br} B min+br, ${code.length} B min`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`size: ${budgets.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
