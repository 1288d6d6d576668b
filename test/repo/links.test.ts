/**
 * Every relative link in README.md and docs/**\/*.md resolves: the file (or folder) it
 * names exists, and a `#anchor` into a Markdown file names one of that file's headings
 * (GitHub's slugs). External links (http:, https:, mailto:) are not followed. A self-check
 * runs the same finder on a synthetic page with a broken file link and a broken anchor, so
 * the test cannot pass by finding no links at all.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Markdown files the check covers, relative to ROOT. */
function markdownFiles(): string[] {
  const out = ['README.md'];
  const walk = (dir: string): void => {
    for (const name of readdirSync(path.join(ROOT, dir)).sort()) {
      const rel = path.join(dir, name);
      if (statSync(path.join(ROOT, rel)).isDirectory()) walk(rel);
      else if (name.endsWith('.md')) out.push(rel);
    }
  };
  if (existsSync(path.join(ROOT, 'docs'))) walk('docs');
  return out;
}

/** Markdown without fenced code blocks and inline code spans (links there are not links). */
function stripCode(md: string): string {
  return md.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading slug: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors a Markdown text defines (repeated headings get -1, -2, ... as on GitHub). */
export function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of stripCodeBlocksOnly(md).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

function stripCodeBlocksOnly(md: string): string {
  return md.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '');
}

/** Link targets in a Markdown text: inline links and images, and reference definitions. */
export function linkTargets(md: string): string[] {
  const text = stripCode(md);
  const out: string[] = [];
  for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push(m[1]!);
  for (const m of text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)) out.push(m[1]!);
  return out;
}

/**
 * Broken relative links of one Markdown file: `read` gives a file's text (or null when it
 * does not exist), `isDir` says whether a path is a folder. Paths are relative to the root.
 */
export function brokenLinks(file: string, md: string, read: (p: string) => string | null, isDir: (p: string) => boolean): string[] {
  const broken: string[] = [];
  for (const target of linkTargets(md)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
    const [rawPath, anchor] = target.split('#', 2) as [string, string | undefined];
    const rel = rawPath === '' ? file : path.normalize(path.join(path.dirname(file), decodeURIComponent(rawPath)));
    if (rel.startsWith('..')) {
      broken.push(`${file}: ${target} (leaves the repository)`);
      continue;
    }
    const dir = isDir(rel);
    const text = dir ? null : read(rel);
    if (!dir && text === null) {
      broken.push(`${file}: ${target} (no such file)`);
      continue;
    }
    if (anchor && text !== null && rel.endsWith('.md') && !anchors(text).has(anchor)) {
      broken.push(`${file}: ${target} (no heading #${anchor} in ${rel})`);
    }
  }
  return broken;
}

function readRepo(p: string): string | null {
  const abs = path.join(ROOT, p);
  return existsSync(abs) && statSync(abs).isFile() ? readFileSync(abs, 'utf8') : null;
}

function isRepoDir(p: string): boolean {
  const abs = path.join(ROOT, p);
  return existsSync(abs) && statSync(abs).isDirectory();
}

describe('links in README.md and docs/', () => {
  it('finds the links it must check', () => {
    const files = markdownFiles();
    expect(files).toContain('README.md');
    expect(files).toContain(path.join('docs', 'api.md'));
    const targets = files.flatMap((f) => linkTargets(readFileSync(path.join(ROOT, f), 'utf8')));
    expect(targets.filter((t) => t.startsWith('docs/')).length).toBeGreaterThan(4);
    expect(targets.some((t) => t.includes('#'))).toBe(true);
  });

  it.each(markdownFiles())('every relative link in %s resolves', (file) => {
    expect(brokenLinks(file, readFileSync(path.join(ROOT, file), 'utf8'), readRepo, isRepoDir)).toEqual([]);
  });

  it('detects a broken file link and a broken anchor (self-check on a synthetic page)', () => {
    const pages: Record<string, string> = {
      'docs/a.md': '# Title\n\n## The `check()` call\n\nSee [b](b.md), [c](c.md), [good](b.md#usage), [bad](b.md#nowhere), [self](#the-check-call), [web](https://example.com/x.md).\n\n```md\n[in a code block](missing.md)\n```\n',
      'docs/b.md': '# B\n\n## Usage\n',
    };
    const broken = brokenLinks('docs/a.md', pages['docs/a.md']!, (p) => pages[p] ?? null, (p) => p === 'docs');
    expect(broken).toEqual(['docs/a.md: c.md (no such file)', 'docs/a.md: b.md#nowhere (no heading #nowhere in docs/b.md)']);
  });
});
