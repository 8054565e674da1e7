// @vitest-environment node
// scripts/docs-check.mjs, the link check of the test command: it finds what it is meant to find
// (so a passing run means something), and the Markdown docs pass it. The generated API reference
// is checked by the test command itself, after `node scripts/docs.mjs`.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface DocsCheck {
  slugs(markdown: string): Set<string>;
  markdownLinks(markdown: string): string[];
  checkLink(from: string, target: string): string[];
  check(o: { api: boolean }): { problems: string[]; links: number };
  UNPKG: string;
}
const SCRIPT = '../scripts/docs-check.mjs';
const docs = (await import(/* @vite-ignore */ SCRIPT)) as DocsCheck;
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

describe('scripts/docs-check.mjs', () => {
  it("makes GitHub's heading anchors: code and punctuation dropped, repeats numbered", () => {
    const s = docs.slugs('# Plain servers: set `protocol: \'plain\'`\n## Limits\n### Limits\n```md\n# not a heading\n```\n');
    expect([...s]).toEqual(['plain-servers-set-protocol-plain', 'limits', 'limits-1']);
  });

  it('reads links outside code only', () => {
    expect(docs.markdownLinks('[a](x.md) `[b](y.md)` ![c](z.svg "t")\n```\n[d](w.md)\n```\n')).toEqual(['x.md', 'z.svg']);
  });

  it('refuses relative file links in README.md, other versions, files that do not ship, missing anchors', () => {
    expect(docs.UNPKG).toBe(`https://unpkg.com/heartline@${version}/`);
    expect(docs.checkLink('README.md', 'docs/GUIDE.md')).toHaveLength(1);
    expect(docs.checkLink('README.md', '#install')).toEqual([]);
    expect(docs.checkLink('README.md', '#no-such-heading')).toHaveLength(1);
    expect(docs.checkLink('README.md', 'https://unpkg.com/heartline@0.0.1/PROTOCOL.md')).toHaveLength(1);
    expect(docs.checkLink('README.md', `${docs.UNPKG}e2e/SERVER.md`)).toHaveLength(1);
    expect(docs.checkLink('README.md', `${docs.UNPKG}PROTOCOL.md`)).toEqual([]);
    expect(docs.checkLink('README.md', `${docs.UNPKG}docs/GUIDE.md#no-such-heading`)).toHaveLength(1);
    expect(docs.checkLink('docs/GUIDE.md', '../PROTOCOL.md')).toEqual([]);
    expect(docs.checkLink('docs/GUIDE.md', '../NOPE.md')).toHaveLength(1);
    expect(docs.checkLink('docs/GUIDE.md', 'https://example.com/anything')).toEqual([]);
  });

  it('finds no broken link in README.md, PROTOCOL.md, bench/README.md, docs/GUIDE.md, e2e/SERVER.md', () => {
    const { problems, links } = docs.check({ api: false });
    expect(problems).toEqual([]);
    expect(links).toBeGreaterThan(30);
  });
});
