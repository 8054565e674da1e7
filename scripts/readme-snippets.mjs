// The README's ESM and React usage snippets, as the e2e suite runs them. Each fenced block sits
// between `<!-- NAME-snippet:start -->` and `<!-- NAME-snippet:end -->` markers in README.md; the
// build (rollup.config.mjs) bundles it verbatim into e2e/pages/NAME-snippet.js (gitignored) with
// one substitution, the only thing that cannot work offline: the `wss://example.com/...` URL
// becomes the fixture server's echo route with the test's query (key), `/ws/echo?key=K...`.
// `heartline` and `heartline/react` resolve to the built dist/ files (as for e2e/react-app).
// e2e/pages/scenarios/readme.js then checks what the snippet did (its console output, the
// server's counters, the rendered DOM).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = resolve(ROOT, 'README.md');

/** The test's echo route: same host, the page's own query string carries `key`. */
const ECHO = 'ws://${location.host}/ws/echo${location.search}';

/** name → { lang, url: [the README's URL expression, its offline replacement] } */
export const SNIPPETS = {
  esm: {
    lang: 'js',
    url: ["'wss://example.com/live'", `\`${ECHO}\``],
  },
  react: {
    lang: 'tsx',
    url: ['`wss://example.com/rooms/${room}`', `\`${ECHO}&room=\${room}\``],
  },
};

/** The fenced code block between the NAME-snippet markers of README.md. */
export function extract(name, text = readFileSync(README, 'utf8')) {
  const { lang } = SNIPPETS[name];
  const start = new RegExp(`<!-- ${name}-snippet:start[^>]*-->\\n\`\`\`${lang}\\n`);
  const m = start.exec(text);
  const end = text.indexOf(`\`\`\`\n<!-- ${name}-snippet:end -->`);
  if (!m || end < m.index) throw new Error(`README.md has no \`\`\`${lang} block between the ${name}-snippet markers`);
  return text.slice(m.index + m[0].length, end);
}

/** The snippet with its URL pointed at the fixture server (throws if the README's URL changed). */
export function offline(name, text) {
  const code = extract(name, text);
  const [from, to] = SNIPPETS[name].url;
  if (code.split(from).length !== 2) throw new Error(`README ${name} snippet: expected the URL ${from} exactly once`);
  return code.replace(from, () => to);
}

/**
 * Rollup plugin: `readme:NAME` imports the README snippet NAME (TSX transpiled by TypeScript,
 * types not checked here: `npm test`'s tsc does not see README.md).
 */
export function readmeSnippets() {
  const PREFIX = '\0readme:';
  return {
    name: 'readme-snippets',
    resolveId: (source) => (source.startsWith('readme:') ? PREFIX + source.slice(7) : null),
    load(id) {
      if (!id.startsWith(PREFIX)) return null;
      const name = id.slice(PREFIX.length);
      if (!SNIPPETS[name]) throw new Error(`no README snippet '${name}'`);
      this.addWatchFile(README);
      const code = offline(name);
      if (SNIPPETS[name].lang === 'js') return code;
      const { outputText } = ts.transpileModule(code, {
        fileName: `readme-${name}.tsx`,
        compilerOptions: { jsx: ts.JsxEmit.ReactJSX, target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.ESNext },
      });
      return outputText;
    },
  };
}
