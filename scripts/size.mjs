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
// come down; `target` is printed beside a budget while it is above it.
// History: issue 12's hardening cost about 1,100 B on `connect`. Issue 13 split the one closure
// into modules (core, api, heartbeat, negotiate, fallback) with injected parts: heartline/ws lost
// its build flag (esbuild had kept the protocol code that terser folded away), and the split's
// interfaces cost about 500 B on `connect` and 120 B on heartline/ws (counted sizes 10,483 ->
// 10,983 and 5,313 -> 5,431), after trimming; the adapters did not change.
// Decision (issue 13, 2026-12-03): its first targets (heartline/ws 3,500 B, websocket + protocol
// 5,000 B, IIFE 8,000 B) are withdrawn, not met. The cost table below shows why: without any
// error message, option check or page watch at all, heartline/ws would still be about 4,570 B and
// websocket + protocol about 5,680 B; what is left is the behaviour DESIGN.md requires
// (heartbeat deadlines, backoff and stop rules, the bounded queue, re-entrancy). The budgets are
// the ratchet; an app that wants fewer bytes composes fewer parts with heartline/core.
const budgets = [
  // [label, ESM source of the import (null: the IIFE), budget, target, externals]
  // heartline/ws: the reconnecting WebSocket core alone (plain servers; no protocol, fallback or uploads).
  ["import { connect } from 'heartline/ws'", `export { connect } from ${JSON.stringify(resolve('dist/ws.mjs'))};`, 5450, null],
  [
    "connectWith({ transports: [websocket], protocol }) from 'heartline/core'",
    `import { connectWith, websocket, protocol } from ${core};\nexport const connect = connectWith({ transports: [websocket], protocol });`,
    6750,
    null,
  ],
  ["import { connect } from 'heartline' (every transport, the protocol, uploads)", `export { connect } from ${JSON.stringify(dist)};`, 11000, null],
  ["import * from 'heartline'", `export * from ${JSON.stringify(dist)};`, 11200, null],
  ['dist/heartline.iife.min.js (script tag)', null, 11450, null],
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

/**
 * What three behaviours the contract requires cost, in esbuild min+gz bytes per import: the
 * error and option messages, the option validation, and the page watch (lifecycle.ts). Each is
 * measured by building from src/ without it (the messages: every English string in the minified
 * output emptied; wire tokens such as `msg `, `ack ` and `welcome ` kept). These builds are not
 * shippable: they show that no trim of these reaches issue 13's first targets (GUIDE.md, "Bundle
 * size"). A
 * stub that no longer matches its source fails the run, so the table cannot silently go stale.
 * SIZE_DEBUG=1 prints the strings counted as messages.
 */
const costs = async () => {
  const ts = (await import('typescript')).default;
  const stubs = {
    validation: [
      ['src/options.ts', /export const validate = [\s\S]*?\n};/, 'export const validate = (o: Options): void => {};'],
      ['src/options.ts', /export const validateFull = [\s\S]*?\n};/, 'export const validateFull = (o: Options): void => {};'],
      ['src/options.ts', /^  (num|fn)\(r,.*$/gm, ''],
    ],
    'page watch': [['src/lifecycle.ts', /export const watchLifecycle = [\s\S]*$/, 'export const watchLifecycle = (r: (e: LifecycleEvent) => void) => () => {};']],
  };
  const wire = /^(msg|bin|ping|pong|ack|welcome|hello|retry|bye|Bearer|bad) |^up\./;
  const messages = (js) => {
    const sf = ts.createSourceFile('b.js', js, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
    const cut = [];
    const visit = (n) => {
      const text = ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) ? n.text : ts.isTemplateExpression(n) ? n.head.text : undefined;
      if (text !== undefined && /[a-z(]{2,}[,:]? [a-z(0-9`$]/i.test(n.getText(sf)) && !wire.test(text)) return void cut.push([n.getStart(sf), n.end]);
      ts.forEachChild(n, visit);
    };
    visit(sf);
    if (process.env.SIZE_DEBUG) console.log(cut.map(([a, b]) => js.slice(a, b)).join("\n"));
    for (const [a, b] of cut.reverse()) js = js.slice(0, a) + '""' + js.slice(b);
    return js;
  };
  const build = async (contents, offs = []) => {
    const plugin = {
      name: 'without',
      setup(b) {
        b.onLoad({ filter: /\.ts$/ }, (a) => {
          let src = readFileSync(a.path, 'utf8');
          for (const [off, file, re, by] of offs.flatMap((off) => (stubs[off] || []).map((stub) => [off, ...stub]))) {
            if (!a.path.endsWith(file)) continue;
            const was = src;
            src = src.replace(re, by);
            if (src === was) throw new Error(`size.mjs: the "${off}" stub no longer matches ${file}: update costs()`);
          }
          return { contents: src, loader: 'ts' };
        });
      },
    };
    const r = await esbuild.build({ stdin: { contents, resolveDir: '.', loader: 'ts' }, bundle: true, minify: true, write: false, format: 'esm', target: 'es2020', plugins: [plugin], logLevel: 'silent' });
    const js = r.outputFiles[0].text;
    return gz(offs.includes('messages') ? messages(js) : js);
  };
  console.log('what required behaviour costs (esbuild min+gz from src/; bytes saved without it):');
  for (const [label, contents] of [
    ['heartline/ws connect', "export { connect } from './src/ws.ts';"],
    ['websocket + protocol', "import { connectWith, websocket, protocol } from './src/compose.ts';\nexport const connect = connectWith({ transports: [websocket], protocol });"],
    ['heartline connect', "export { connect } from './src/index.ts';"],
  ]) {
    const all = await build(contents);
    const parts = [];
    for (const off of ['messages', 'validation', 'page watch']) parts.push(`${off} ${all - (await build(contents, [off]))}`);
    const rest = await build(contents, ['messages', 'validation', 'page watch']);
    parts.push(`all three ${all - rest} (leaving ${rest} B)`);
    console.log(`  ${label}: ${all} B; ${parts.join(', ')}`);
  }
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
    await costs();
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`size: ${budgets.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
