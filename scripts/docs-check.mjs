// `node scripts/docs-check.mjs` (in the test command, after `node scripts/docs.mjs`): no broken
// links, offline. Checks every link and image of the Markdown docs and every href/src of the
// generated API reference (docs/api/):
// - a relative link names an existing file, and an #anchor a heading (Markdown, GitHub's slugs)
//   or an id/name (HTML) in it;
// - README.md, the page the npm registry shows, uses no relative file links (the registry cannot
//   resolve them without a `repository`): links to other files are unpkg URLs of this version,
//   `https://unpkg.com/heartline@<version>/<file>`, and <file> must exist here and ship in the
//   package (`files` in package.json);
// - `heartline/ws` is documented by the `heartline` module: dist/ws.d.ts re-exports the same
//   declarations as dist/heartline.d.ts (when dist/ is built).
// Other absolute URLs (other hosts) are not fetched.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
export const UNPKG = `https://unpkg.com/${pkg.name}@${pkg.version}/`;
const MARKDOWN = ['README.md', 'PROTOCOL.md', 'bench/README.md', 'docs/GUIDE.md', 'ARCHITECTURE.md', 'e2e/SERVER.md'];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function slugs(markdown) {
  const seen = new Map();
  const out = new Set();
  for (const [, text] of withoutFences(markdown).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = text
      .replace(/<[^>]+>/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  for (const [, id] of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(id);
  return out;
}

/** Markdown without fenced code blocks; and without inline code (links there are not links). */
const withoutFences = (md) => md.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '');
const withoutCode = (md) => withoutFences(md).replace(/`[^`\n]*`/g, '');

/** [text](target) and ![alt](target) links of a Markdown text (titles dropped). */
export const markdownLinks = (md) =>
  [...withoutCode(md).matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]);

const anchorsCache = new Map();
function anchorsOf(file) {
  if (!anchorsCache.has(file)) {
    const text = readFileSync(file, 'utf8');
    anchorsCache.set(
      file,
      file.endsWith('.html') ? new Set([...text.matchAll(/\s(?:id|name)="([^"]+)"/g)].map((m) => m[1])) : slugs(text),
    );
  }
  return anchorsCache.get(file);
}

/** Whether a package-relative path ships (package.json `files`, plus what npm always includes). */
export function ships(path, files = pkg.files) {
  if (/^(package\.json|README(\.md)?|LICENSE)$/i.test(path)) return true;
  return files.some((f) => path === f || path.startsWith(`${f.replace(/\/$/, '')}/`));
}

/** Problems of one link found in `from` (a repository path). */
export function checkLink(from, target) {
  const fromFile = resolve(ROOT, from);
  let file;
  let anchor;
  if (/^https?:/i.test(target)) {
    const m = /^https:\/\/unpkg\.com\/((?:@[^/]+\/)?[^@/]+)@([^/]+)\/([^#?]*)(?:#(.*))?$/.exec(target);
    if (!m || m[1] !== pkg.name) return [];
    if (m[2] !== pkg.version) return [`${target}: names version ${m[2]}, package.json says ${pkg.version}`];
    if (!ships(m[3])) return [`${target}: ${m[3]} is not in the package (package.json files)`];
    file = resolve(ROOT, m[3]);
    anchor = m[4];
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) {
    return [];
  } else {
    const [path, hash] = target.split('#', 2);
    if (path && from === 'README.md') return [`${target}: a relative file link in README.md breaks on the npm registry page; use ${UNPKG}${path}`];
    file = path ? resolve(dirname(fromFile), decodeURIComponent(path.split('?')[0])) : fromFile;
    anchor = hash;
  }
  const shown = relative(ROOT, file) || '.';
  if (!existsSync(file)) return [`${target}: ${shown} does not exist`];
  if (anchor && statSync(file).isFile() && /\.(md|html)$/.test(file) && !anchorsOf(file).has(decodeURIComponent(anchor))) {
    return [`${target}: no anchor #${anchor} in ${shown}`];
  }
  return [];
}

function* htmlFiles(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* htmlFiles(p);
    else if (e.name.endsWith('.html')) yield p;
  }
}

/** Every problem found; `{ api: false }` skips the generated reference. */
export function check({ api = true } = {}) {
  const problems = [];
  let links = 0;
  for (const doc of MARKDOWN) {
    if (!existsSync(join(ROOT, doc))) continue;
    for (const target of markdownLinks(readFileSync(join(ROOT, doc), 'utf8'))) {
      links++;
      for (const p of checkLink(doc, target)) problems.push(`${doc}: ${p}`);
    }
  }
  const apiDir = join(ROOT, 'docs/api');
  if (api) {
    if (!existsSync(join(apiDir, 'index.html'))) problems.push('docs/api/index.html is missing: run npm run docs first');
    else {
      for (const f of htmlFiles(apiDir)) {
        const from = relative(ROOT, f);
        for (const [, target] of readFileSync(f, 'utf8').matchAll(/\s(?:href|src)="([^"]+)"/g)) {
          links++;
          for (const p of checkLink(from, target.replace(/&amp;/g, '&'))) problems.push(`${from}: ${p}`);
        }
      }
    }
  }
  const types = (name) => (existsSync(join(ROOT, 'dist', name)) ? readFileSync(join(ROOT, 'dist', name), 'utf8') : undefined);
  const [full, lite] = [types('heartline.d.ts'), types('ws.d.ts')];
  if (full !== undefined && lite !== full) problems.push('dist/ws.d.ts no longer re-exports what dist/heartline.d.ts does: document heartline/ws on its own');
  return { problems, links };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { problems, links } = check({ api: !process.argv.includes('--no-api') });
  for (const p of problems) console.log(`FAIL ${p}`);
  if (!problems.length) console.log(`ok   docs: ${links} links checked, none broken`);
  process.exit(problems.length ? 1 : 0);
}
