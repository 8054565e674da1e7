import terser from '@rollup/plugin-terser';
import typescript from '@rollup/plugin-typescript';

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
const typesEntry = {
  name: 'types-entry',
  generateBundle() {
    this.emitFile({ type: 'asset', fileName: 'heartline.d.ts', source: "export * from './types/index.js';\n" });
  },
};

const minify = terser({ ecma: 2019, compress: { passes: 2 }, format: { comments: false } });

export default [
  {
    input: 'src/index.ts',
    output: { file: 'dist/heartline.mjs', format: 'es', sourcemap: true },
    plugins: [ts(true), typesEntry],
  },
  {
    input: 'src/index.ts',
    output: { file: 'dist/heartline.iife.min.js', format: 'iife', name: 'Heartline', sourcemap: true },
    plugins: [ts(false, 'ES2019'), minify],
  },
];
