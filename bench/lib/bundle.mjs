// Bundles each contestant's typical import the way an app's bundler would (Rollup + node-resolve
// for the browser + commonjs + NODE_ENV=production, then terser with the same settings as
// scripts/size.mjs) and measures min+gz and min+br of exactly those bytes. The benchmark pages load
// the same minified files, so what is measured for size is what is measured for speed.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import commonjs from '@rollup/plugin-commonjs';
import nodeResolve from '@rollup/plugin-node-resolve';
import replace from '@rollup/plugin-replace';
import { rollup } from 'rollup';
import { minify } from 'terser';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dist = join(root, 'dist/heartline.mjs');

/**
 * [file name served to pages, label for the size table, ESM entry source (null: a dist file
 * measured as shipped), externals?, dist file that must exist for the entry to be measured?]
 */
export const ENTRIES = [
  ['heartline.mjs', "heartline: import { connect } from 'heartline'", `export { connect } from ${JSON.stringify(dist)};`],
  ['heartline-all.mjs', "heartline: import * from 'heartline'", `export * from ${JSON.stringify(dist)};`],
  ['heartline.iife.min.js', 'heartline: dist/heartline.iife.min.js (script tag, as shipped)', null],
  // The framework adapters alone (their framework and the core external, as scripts/size.mjs
  // measures them); listed when dist/ has them.
  ['heartline-react.mjs', "heartline: import * from 'heartline/react' (React and the core external)", `export * from ${JSON.stringify(join(root, 'dist/react.mjs'))};`, ['react'], 'dist/react.mjs'],
  ['heartline-vue.mjs', "heartline: import * from 'heartline/vue' (Vue and the core external)", `export * from ${JSON.stringify(join(root, 'dist/vue.mjs'))};`, ['vue'], 'dist/vue.mjs'],
  ['partysocket.mjs', "partysocket: import { WebSocket } from 'partysocket'", "export { WebSocket } from 'partysocket';"],
  ['partysocket-default.mjs', "partysocket: import PartySocket from 'partysocket'", "export { default } from 'partysocket';"],
  ['rws.mjs', "reconnecting-websocket: import RWS from 'reconnecting-websocket'", "export { default } from 'reconnecting-websocket';"],
  ['socketio.mjs', "socket.io-client: import { io } from 'socket.io-client'", "export { io } from 'socket.io-client';"],
  ['fes.mjs', "@microsoft/fetch-event-source: import { fetchEventSource }", "export { fetchEventSource } from '@microsoft/fetch-event-source';"],
  ['tus.mjs', "tus-js-client: import { Upload } from 'tus-js-client'", "export { Upload } from 'tus-js-client';"],
];

const TERSER = { module: true, ecma: 2020, compress: { passes: 2 } };

async function bundleOne(source, workDir, name, externals) {
  mkdirSync(join(workDir, 'entries'), { recursive: true });
  const entry = join(workDir, 'entries', `${name}.mjs`);
  writeFileSync(entry, source);
  const bundle = await rollup({
    input: entry,
    logLevel: 'silent',
    ...(externals && { external: (id) => externals.includes(id) || /[/\\]heartline\.mjs$/.test(id) }),
    plugins: [
      replace({ preventAssignment: true, values: { 'process.env.NODE_ENV': JSON.stringify('production') } }),
      nodeResolve({ browser: true, rootDir: root, modulePaths: [join(root, 'node_modules')] }),
      commonjs(),
    ],
  });
  const { output } = await bundle.generate({ format: 'es' });
  await bundle.close();
  return (await minify(output[0].code, TERSER)).code;
}

/** Builds every entry into outDir (cached while dist/, the lockfile and this file are unchanged); returns the size table rows. */
export async function buildBundles(outDir) {
  mkdirSync(outDir, { recursive: true });
  const hash = createHash('sha256');
  const present = ENTRIES.filter((e) => !e[4] || existsSync(join(root, e[4])));
  for (const f of ['dist/heartline.mjs', 'dist/heartline.iife.min.js', 'package-lock.json', 'bench/lib/bundle.mjs', ...present.map((e) => e[4]).filter(Boolean)]) {
    hash.update(readFileSync(join(root, f)));
  }
  const key = hash.digest('hex');
  const manifest = join(outDir, 'manifest.json');
  if (existsSync(manifest)) {
    const m = JSON.parse(readFileSync(manifest, 'utf8'));
    if (m.key === key && m.rows.every((r) => existsSync(join(outDir, r.file)))) return m.rows;
  }
  const rows = [];
  for (const [file, label, source, externals] of present) {
    const code = source === null ? readFileSync(join(root, 'dist', file), 'utf8') : await bundleOne(source, outDir, file.replace(/\W/g, '_'), externals);
    writeFileSync(join(outDir, file), code);
    rows.push({
      file,
      label,
      min: Buffer.byteLength(code),
      gz: gzipSync(code, { level: 9 }).length,
      br: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
    });
  }
  writeFileSync(manifest, JSON.stringify({ key, rows }, null, 1));
  return rows;
}
