import { dirname, resolve } from 'node:path';
import commonjs from '@rollup/plugin-commonjs';
import nodeResolve from '@rollup/plugin-node-resolve';
import replace from '@rollup/plugin-replace';
import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';
import { readmeSnippets } from './scripts/readme-snippets.mjs';
import { refreshReadme } from './scripts/sri.mjs';

// One TypeScript pass per output kind: the ESM build also emits the .d.ts files.
// The ESM build targets ES2020 (optional chaining and ?? kept: every browser with ESM + dynamic
// import has them); the IIFE for <script> tags targets ES2019 so older engines parse it too.
const ts = (declarations, target = 'ES2020') =>
  typescript({
    tsconfig: './tsconfig.json',
    target,
    declaration: declarations,
    declarationDir: declarations ? 'dist/types' : undefined,
    outDir: 'dist',
    rootDir: 'src',
  });

// package.json "types" points here; the declarations themselves are emitted under dist/types/.
const typesEntry = (fileName = 'heartline.d.ts', target = 'index.js') => ({
  name: 'types-entry',
  generateBundle() {
    this.emitFile({ type: 'asset', fileName, source: `export * from './types/${target}';\n` });
  },
});

// The adapters (src/react, src/vue) import the core as src/index.ts; in their builds that import
// is the shipped core file, so an app importing `heartline` and `heartline/react` has one copy.
const CORE = resolve('src/index.ts');
const coreExternal = {
  name: 'core-external',
  resolveId(source, importer) {
    if (importer && resolve(dirname(importer), source).replace(/\.js$/, '.ts') === CORE) {
      return { id: './heartline.mjs', external: 'absolute' };
    }
    return null;
  },
};

// The React app of the e2e suite (e2e/react-app, JSX), bundled with React's development build
// (StrictMode's double mount only exists there) against the built dist/ files, as an app would.
const fromDist = {
  name: 'heartline-from-dist',
  resolveId: (source) =>
    ({ heartline: resolve('dist/heartline.mjs'), 'heartline/react': resolve('dist/react.mjs') })[source] ?? null,
};

const minify = terser({ ecma: 2020, compress: { passes: 3 }, format: { comments: false } });

export default [
  {
    input: 'src/index.ts',
    output: { file: 'dist/heartline.mjs', format: 'es', sourcemap: true },
    plugins: [ts(true), typesEntry()],
  },
  {
    // `heartline/ws`: src/ws.ts, the core with the WebSocket transport alone (no build flag).
    input: 'src/ws.ts',
    output: { file: 'dist/ws.mjs', format: 'es', sourcemap: true },
    plugins: [ts(false), typesEntry('ws.d.ts')],
  },
  {
    // `heartline/core`: connectWith() and the parts (src/compose.ts).
    input: 'src/compose.ts',
    output: { file: 'dist/core.mjs', format: 'es', sourcemap: true },
    plugins: [ts(false), typesEntry('core.d.ts', 'compose.js')],
  },
  {
    input: 'src/index.ts',
    output: { file: 'dist/heartline.iife.min.js', format: 'iife', name: 'Heartline', sourcemap: true },
    plugins: [ts(false, 'ES2019'), minify, { name: 'sri', writeBundle: () => refreshReadme() }],
  },
  ...['react', 'vue'].map((name) => ({
    input: `src/${name}/index.ts`,
    external: [name],
    output: { file: `dist/${name}.mjs`, format: 'es', sourcemap: true },
    plugins: [coreExternal, ts(false), typesEntry(`${name}.d.ts`, `${name}/index.js`)],
  })),
  // `heartline/server` (Node >= 20): its own build and tsconfig (Node types, no DOM), so no
  // browser entry can import it; `ws` (an optional peer dependency) and node: modules stay imports.
  // `heartline/server/redis` is a second entry of the same build: it imports no package at run time
  // (the app hands it a node-redis client); code both entries use goes to dist/server-shared-*.mjs.
  {
    input: { server: 'src/server/index.ts', 'server-redis': 'src/server/redis.ts' },
    external: [/^node:/, 'ws'],
    output: { dir: 'dist', entryFileNames: '[name].mjs', chunkFileNames: 'server-shared-[hash].mjs', format: 'es', sourcemap: true },
    plugins: [
      typescript({ tsconfig: './tsconfig.server.json', declaration: true, declarationDir: 'dist/types', outDir: 'dist', rootDir: 'src' }),
      typesEntry('server.d.ts', 'server/index.js'),
      typesEntry('server-redis.d.ts', 'server/redis.js'),
    ],
  },
  {
    input: 'e2e/react-app/main.tsx',
    output: { file: 'e2e/pages/react-app.js', format: 'es', sourcemap: true },
    plugins: [
      fromDist,
      nodeResolve({ browser: true }),
      commonjs(),
      replace({ preventAssignment: true, values: { 'process.env.NODE_ENV': JSON.stringify('development') } }),
      typescript({ tsconfig: './e2e/react-app/tsconfig.json' }),
    ],
  },
  // README.md's ESM and React usage snippets, verbatim but for the URL (scripts/readme-snippets.mjs),
  // bundled against dist/ like the React app, for e2e/pages/esm-snippet.html and react-snippet.html.
  {
    input: 'e2e/readme-snippets/esm.js',
    output: { file: 'e2e/pages/esm-snippet.js', format: 'es', sourcemap: true },
    plugins: [readmeSnippets(), fromDist],
  },
  {
    input: 'e2e/readme-snippets/react.js',
    output: { file: 'e2e/pages/react-snippet.js', format: 'es', sourcemap: true },
    plugins: [
      readmeSnippets(),
      fromDist,
      nodeResolve({ browser: true }),
      commonjs(),
      replace({ preventAssignment: true, values: { 'process.env.NODE_ENV': JSON.stringify('development') } }),
    ],
  },
];
