// Byte budgets per import, checked on every test run (bundle bytes are deterministic, so this
// is a test, not a benchmark). Each entry is bundled from dist/ and minified the way an app's
// bundler would, twice: rollup + terser, and esbuild (what Vite users get); the larger counts.
// Then the minified bytes of every source module (esbuild's metafile), so a change shows where
// the bytes went.
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { rollup } from 'rollup';
import { minify } from 'terser';

// esbuild is optional here: a checkout without it measures with terser only, and says so.
// ESBUILD=/path/to/esbuild/lib/main.js points at one installed elsewhere.
const esbuild = await import(process.env.ESBUILD ? pathToFileURL(process.env.ESBUILD).href : 'esbuild').catch(() => undefined);
if (!esbuild) console.log('note: esbuild is not installed: terser only (set ESBUILD=…/esbuild/lib/main.js)');

const dist = resolve('dist/heartline.mjs');
// Issue 12's hardening cost about 1,100 B on `connect` (the core's guards about 650, streamed and
// paced HTTP bodies about 340, uploads about 80) and issue 16's adapter store about 25. Issue 13's
// targets, the larger of terser and esbuild counting: heartline/ws 3,500, connect + WebSocket +
// protocol 5,000, the IIFE 8,000 (then 7,000), each adapter 1,000. Not reached yet (ARCHITECTURE.md,
// "Bytes"): the terser budgets are the ones issue 12 left, and the esbuild budgets are the sizes
// first measured with esbuild (which keeps the dead branches of the one-closure core that terser
// folds away): both only ever come down.
const ESB = { ws: 5320, connect: 10490, all: 10700, iife: 10960, react: 990, vue: 930 };
const budgets = [
  // [label, ESM source of the import (null: the IIFE), [terser, esbuild] gzip budgets in bytes, externals]
  // heartline/ws: the reconnecting WebSocket core alone (plain servers; no protocol, fallback or uploads).
  ["import { connect } from 'heartline/ws'", `export { connect } from ${JSON.stringify(resolve('dist/ws.mjs'))};`, [4500, ESB.ws]],
  ["import { connect } from 'heartline' (every transport, the protocol, uploads)", `export { connect } from ${JSON.stringify(dist)};`, [10150, ESB.connect]],
  ["import * from 'heartline'", `export * from ${JSON.stringify(dist)};`, [10350, ESB.all]],
  ['dist/heartline.iife.min.js (script tag)', null, [10450, ESB.iife]],
  // The adapters alone: their framework and the core (`./heartline.mjs`, paid for above) external.
  ["import * from 'heartline/react' (React and the core external)", `export * from ${JSON.stringify(resolve('dist/react.mjs'))};`, [1000, ESB.react], ['react']],
  ["import * from 'heartline/vue' (Vue and the core external)", `export * from ${JSON.stringify(resolve('dist/vue.mjs'))};`, [1000, ESB.vue], ['vue']],
];

const gz = (code) => gzipSync(code, { level: 9 }).length;

/** rollup + terser, as before; the IIFE is measured as shipped (built by rollup + terser). */
const viaTerser = async (entry, source, externals) => {
  if (source === null) return readFileSync('dist/heartline.iife.min.js', 'utf8');
  const external = externals && ((id) => externals.includes(id) || /[/\\]?heartline\.mjs$/.test(id));
  const bundle = await rollup({ input: entry, logLevel: 'silent', ...(external && { external }) });
  const { output } = await bundle.generate({ format: 'es' });
  return (await minify(output[0].code, { module: true, ecma: 2020, compress: { passes: 2 } })).code;
};

/** esbuild bundle + minify; the IIFE is rebuilt from the ESM build the way a script-tag build would be. */
const viaEsbuild = async (entry, source, externals) => {
  const iife = source === null;
  const r = await esbuild.build({
    entryPoints: [iife ? dist : entry],
    bundle: true,
    minify: true,
    write: false,
    format: iife ? 'iife' : 'esm',
    ...(iife && { globalName: 'Heartline', target: 'es2019' }),
    ...(!iife && { target: 'es2020' }),
    external: externals ? [...externals, '*heartline.mjs'] : [],
    logLevel: 'silent',
  });
  return r.outputFiles[0].text;
};

const tmp = mkdtempSync(join(tmpdir(), 'heartline-size-'));
let failed = 0;
try {
  for (const [i, [label, source, [budget, esbBudget], externals]] of budgets.entries()) {
    const entry = join(tmp, `entry${i}.mjs`);
    if (source !== null) writeFileSync(entry, source);
    const code = await viaTerser(entry, source, externals);
    const t = gz(code);
    const e = esbuild ? gz(await viaEsbuild(entry, source, externals)) : 0;
    const br = brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
    const ok = t <= budget && e <= esbBudget;
    if (!ok) failed++;
    const esb = esbuild ? `, esbuild ${e} B (budget ${esbBudget})` : '';
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}: terser ${t} B min+gz (budget ${budget})${esb}; ${br} B min+br, ${code.length} B min`);
  }
  if (esbuild) {
    // Per module: minified bytes each source file contributes to `import * from 'heartline'`
    // (before gzip, which only applies to the whole bundle).
    const r = await esbuild.build({ entryPoints: ['src/index.ts'], bundle: true, minify: true, write: false, format: 'esm', metafile: true, logLevel: 'silent' });
    const out = Object.values(r.metafile.outputs)[0];
    const rows = Object.entries(out.inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput);
    console.log('modules (esbuild, minified, before gzip):');
    for (const [file, { bytesInOutput }] of rows) console.log(`  ${String(bytesInOutput).padStart(6)} B  ${relative('.', file)}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`size: ${budgets.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
