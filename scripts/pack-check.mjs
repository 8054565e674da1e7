// The package as npm would publish it, checked by tools rather than by eye. Packs into a temp
// directory (npm pack), then fails on any finding of:
// - publint (every level, suggestions included) on the tarball;
// - @arethetypeswrong/cli on the tarball, every entry point ('.', './ws', './react', './vue', './server') in the
//   node16 (from ESM and from CJS) and bundler resolution modes. Two things are deliberately
//   not checked, because heartline is ESM-only by design (no CommonJS build, hence no dual-package
//   hazard):
//   * node10 (`--profile node16`): TypeScript's pre-`exports` resolution (`moduleResolution:
//     node`/`node10`) cannot see subpath exports such as `heartline/react` at all; projects on it
//     resolve `heartline` itself fine and should move to `bundler` or `node16` for the adapters.
//   * `cjs-resolves-to-esm` in node16-from-CJS: a `require('heartline')` gets the ESM file. Node
//     >= 20.19 and >= 22.12 load it (require(esm)), and so does TypeScript >= 5.8 under
//     `module: nodenext`; attw 0.18 predates that and reports it. Everything else attw knows about
//     (missing types, masquerading formats, wrong default exports…) is still checked in that mode.
// - and that each adapter imports the core as `./heartline.mjs` (one copy of the core per app),
//   plus only its framework;
// - that `heartline/server` (dist/server.mjs) imports only `node:` modules and `ws` (its optional
//   peer dependency), and that no browser entry imports it or `ws`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ADAPTERS = { 'dist/react.mjs': 'react', 'dist/vue.mjs': 'vue' };

const problems = [];
for (const file of ['dist/heartline.mjs', 'dist/ws.mjs', 'dist/core.mjs', 'dist/heartline.iife.min.js', 'dist/server.mjs', ...Object.keys(ADAPTERS)]) {
  if (!existsSync(join(ROOT, file))) problems.push(`${file} is missing: run npm run build first`);
}
if (problems.length) {
  for (const p of problems) console.log(`FAIL ${p}`);
  process.exit(1);
}

const tmp = mkdtempSync(join(tmpdir(), 'heartline-pack-'));
try {
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  );
  const tarball = resolve(tmp, packed.filename);
  const files = new Set(packed.files.map((f) => f.path));
  console.log(`pack: ${packed.filename}, ${packed.files.length} files, ${packed.size} B packed`);

  const buf = readFileSync(tarball);
  const lint = await publint({
    pack: { tarball: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) },
    level: 'suggestion',
    strict: true,
  });
  for (const m of lint.messages) problems.push(`publint ${m.type} ${m.code}: ${formatMessage(m, lint.pkg)}`);
  console.log(`${lint.messages.length ? 'FAIL' : 'ok  '} publint: ${lint.messages.length} finding(s)`);

  const attw = spawnSync(
    join(ROOT, 'node_modules/.bin/attw'),
    [tarball, '--profile', 'node16', '--ignore-rules', 'cjs-resolves-to-esm', '--format', 'table', '--no-color'],
    { cwd: tmp, encoding: 'utf8', timeout: 120000 },
  );
  const out = `${attw.stdout ?? ''}${attw.stderr ?? ''}`.trim();
  if (attw.status !== 0) problems.push(`attw exited with ${attw.status ?? attw.signal}:\n${out}`);
  else console.log(`ok   attw (node16 from ESM and CJS, bundler; node10 and cjs-resolves-to-esm not checked):\n${out}`);

  for (const [file, framework] of Object.entries(ADAPTERS)) {
    if (!files.has(file)) problems.push(`${file} is not in the package`);
    const specifiers = [...readFileSync(join(ROOT, file), 'utf8').matchAll(/\bfrom\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
    const unexpected = specifiers.filter((s) => s !== framework && s !== './heartline.mjs');
    if (!specifiers.includes('./heartline.mjs') || unexpected.length) {
      problems.push(`${file} must import only '${framework}' and './heartline.mjs', imports ${JSON.stringify(specifiers)}`);
    }
  }
  const importsOf = (file) =>
    [...readFileSync(join(ROOT, file), 'utf8').matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]);
  if (!files.has('dist/server.mjs') || !files.has('dist/server.d.ts')) problems.push('dist/server.mjs or its types are not in the package');
  // The server entries and the chunks they share (`server-shared-*.mjs`, code both entries use)
  // may import node: modules, ws and each other; nothing else (the client, a dependency).
  // (Statements at the start of a line only: server-redis.mjs holds Lua scripts in strings.)
  const statementsOf = (file) =>
    [...readFileSync(join(ROOT, file), 'utf8').matchAll(/^(?:import|export)\b[^'";]*?(?:\bfrom\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? m[2]);
  const serverFiles = [...files].filter((f) => /^dist\/server[^/]*\.mjs$/.test(f));
  for (const file of serverFiles) {
    const bad = statementsOf(file).filter((s) => !s.startsWith('node:') && s !== 'ws' && !/^\.\/server-shared-[\w-]+\.mjs$/.test(s));
    if (bad.length) problems.push(`${file} may import only node: modules, ws and ./server-shared-*.mjs, imports ${JSON.stringify(bad)}`);
  }
  for (const file of ['dist/heartline.mjs', 'dist/ws.mjs', 'dist/core.mjs', ...Object.keys(ADAPTERS)]) {
    const bad = importsOf(file).filter((s) => s === 'ws' || s.startsWith('node:') || /server/.test(s));
    if (bad.length) problems.push(`${file} (a browser entry) imports ${JSON.stringify(bad)}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
for (const p of problems) console.log(`FAIL ${p}`);
console.log(`pack-check: ${problems.length ? `${problems.length} problem(s)` : 'clean'}`);
process.exit(problems.length ? 1 : 0);
