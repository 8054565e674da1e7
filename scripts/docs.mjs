// `npm run docs`: the API reference, generated from the TSDoc by TypeDoc into docs/api/
// (gitignored: it is regenerated, never edited). One page per public entry: `heartline` (whose
// exports `heartline/ws` shares: dist/ws.d.ts re-exports the same declarations, checked by
// scripts/docs-check.mjs), `heartline/react`, `heartline/vue`, `heartline/server`, `heartline/server/redis`.
// Any TypeDoc warning (a broken {@link}, a public type that is referenced but not exported, …)
// fails the run, so the test command (scripts/test.sh) catches them.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Application, Converter } from 'typedoc';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const OUT = resolve(ROOT, 'docs/api');

/** source entry → the import specifier it is published as */
export const ENTRIES = {
  'src/index.ts': 'heartline',
  'src/compose.ts': 'heartline/core',
  'src/react/index.ts': 'heartline/react',
  'src/vue/index.ts': 'heartline/vue',
  'src/server/index.ts': 'heartline/server',
  'src/server/redis.ts': 'heartline/server/redis',
};

/** Generates docs/api/; resolves with the number of warnings and errors (0: success). */
export async function generate({ out = OUT } = {}) {
  const app = await Application.bootstrapWithPlugins({
    name: 'heartline',
    entryPoints: Object.keys(ENTRIES).map((f) => resolve(ROOT, f)),
    tsconfig: resolve(ROOT, 'tsconfig.docs.json'),
    readme: 'none',
    out,
    disableSources: true, // no public repository to link to (README, "Packaging and links")
    excludePrivate: true,
    excludeInternal: true,
    validation: { notExported: true, invalidLink: true, rewrittenLink: true, notDocumented: false },
    // heartline/core's parts are built on the core's internal interfaces (src/kernel.ts and the
    // modules'): they are described there and in ARCHITECTURE.md, not as public API.
    intentionallyNotExported: ['Core', 'Protocol', 'Fallback'],
    logLevel: 'Warn',
  });
  // Modules are named after the package entries, not after their file paths.
  // TypeDoc names them after the path with /index dropped ('index' itself: the package name).
  const names = new Map(Object.entries(ENTRIES).map(([f, spec]) => [f.replace(/^src\//, '').replace(/(\/index)?\.ts$/, ''), spec]));
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const m of context.project.children ?? []) m.name = names.get(m.name) ?? m.name;
  });
  const project = await app.convert();
  if (!project) return 1;
  app.validate(project);
  const problems = () => app.logger.errorCount + app.logger.warningCount;
  if (problems()) return problems();
  rmSync(out, { recursive: true, force: true });
  await app.generateDocs(project, out);
  return problems();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const n = await generate();
  console.log(n ? `FAIL docs: ${n} TypeDoc warning(s) or error(s) above` : `ok   docs: API reference in docs/api/`);
  process.exit(n ? 1 : 0);
}
