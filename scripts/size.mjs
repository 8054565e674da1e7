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
const core = JSON.stringify(resolve('dist/core.mjs'));
// One budget per import, against the larger of terser and esbuild (issue 13). Budgets only ever
// come down; `target` is issue 13's goal, printed beside it until the budget reaches it.
// History: issue 12's hardening cost about 1,100 B on `connect`. Issue 13 split the one closure
// into modules (core, api, heartbeat, negotiate, fallback) with injected parts: heartline/ws lost
// its build flag (esbuild had kept the protocol code that terser folded away), and the split's
// interfaces cost about 500 B on `connect` and 120 B on heartline/ws (counted sizes 10,483 ->
// 10,983 and 5,313 -> 5,431), after trimming; the adapters did not change.
const budgets = [
  // [label, ESM source of the import (null: the IIFE), budget, target, externals]
  // heartline/ws: the reconnecting WebSocket core alone (plain servers; no protocol, fallback or uploads).
  ["import { connect } from 'heartline/ws'", `export { connect } from ${JSON.stringify(resolve('dist/ws.mjs'))};`, 5450, 3500],
  [
    "connectWith({ transports: [websocket], protocol }) from 'heartline/core'",
    `import { connectWith, websocket, protocol } from ${core};\nexport const connect = connectWith({ transports: [websocket], protocol });`,
    6750,
    5000,
  ],
  ["import { connect } from 'heartline' (every transport, the protocol, uploads)", `export { connect } from ${JSON.stringify(dist)};`, 11000, 7000],
  ["import * from 'heartline'", `export * from ${JSON.stringify(dist)};`, 11200, null],
  ['dist/heartline.iife.min.js (script tag)', null, 11450, 8000],
  // The adapters alone: their framework and the core (`./heartline.mjs`, paid for above) external.
  ["import * from 'heartline/react' (React and the core external)", `export * from ${JSON.stringify(resolve('dist/react.mjs'))};`, 990, 1000, ['react']],
  ["import * from 'heartline/vue' (Vue and the core external)", `export * from ${JSON.stringify(resolve('dist/vue.mjs'))};`, 930, 1000, ['vue']],
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
  for (const [i, [label, source, budget, target, externals]] of budgets.entries()) {
    const entry = join(tmp, `entry${i}.mjs`);
    if (source !== null) writeFileSync(entry, source);
    const code = await viaTerser(entry, source, externals);
    const t = gz(code);
    const e = esbuild ? gz(await viaEsbuild(entry, source, externals)) : 0;
    const br = brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
    const counted = Math.max(t, e);
    const ok = counted <= budget;
    if (!ok) failed++;
    const esb = esbuild ? `, esbuild ${e} B` : '';
    const goal = target ? `; target ${target}${counted <= target ? ' (met)' : ` (${counted - target} B to go)`}` : '';
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}: ${counted} B min+gz (budget ${budget}${goal}): terser ${t} B${esb}; ${br} B min+br, ${code.length} B min`);
  }
  if (esbuild) {
    // Per module: minified bytes each source file contributes (before gzip, which only applies to
    // the whole bundle), for everything `heartline` exports and for heartline/ws's connect.
    for (const [label, file, exported] of [["import * from 'heartline'", 'src/index.ts', '*'], ["import { connect } from 'heartline/ws'", 'src/ws.ts', '{ connect }']]) {
      const r = await esbuild.build({
        stdin: { contents: `export ${exported} from './${file}';`, resolveDir: '.', loader: 'ts' },
        bundle: true,
        minify: true,
        write: false,
        format: 'esm',
        metafile: true,
        logLevel: 'silent',
      });
      const out = Object.values(r.metafile.outputs)[0];
      const rows = Object.entries(out.inputs).filter(([, v]) => v.bytesInOutput > 0).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput);
      console.log(`modules of ${label} (esbuild, minified, before gzip; ${out.bytes} B in all):`);
      for (const [f, { bytesInOutput }] of rows) console.log(`  ${String(bytesInOutput).padStart(6)} B  ${relative('.', f)}`);
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`size: ${budgets.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
