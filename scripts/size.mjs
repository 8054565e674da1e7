// Byte budgets, checked on every test run (bundle bytes are deterministic, so this is a test,
// not a benchmark). The ESM file is minified here the same way a consumer's bundler would.
import { readFileSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { minify } from 'terser';

const budgets = [
  // [label, file, minify first?, gzip budget in bytes]
  ['core ESM (connect over WebSocket), min+gz', 'dist/heartline.mjs', true, 3500],
  ['IIFE for <script>, gz', 'dist/heartline.iife.min.js', false, 7000],
];

let failed = 0;
for (const [label, file, needsMinify, budget] of budgets) {
  let code = readFileSync(file, 'utf8');
  if (needsMinify) code = (await minify(code, { module: true, ecma: 2020, compress: { passes: 2 } })).code;
  const gz = gzipSync(code, { level: 9 }).length;
  const br = brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  const ok = gz <= budget;
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}: ${gz} B gzip (budget ${budget}), ${br} B brotli, ${code.length} B minified`);
}
console.log(`size: ${budgets.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
