/**
 * The repository's layering, checked on the import graph of every .ts file in src/,
 * bench/, workers/ and test/ (type-only imports included: a type edge ties two modules as
 * much as any other when a reader follows it):
 *  - src/ (the published library) imports nothing from bench/, workers/ or test/;
 *  - bench/ never imports workers/: tools start their workers by URL (bench/kit/worker-url.ts);
 *    workers/ may import bench/ and src/; neither imports test/;
 *  - the library's own tests (test/unit, test/api) import nothing from the lab;
 *  - no import circle anywhere, and every relative import resolves;
 *  - every worker entry point (a file using parentPort / workerData, or one a
 *    tool starts by URL) lives in workers/ or test/fixtures/; the web workers bundled for the
 *    browser page (bench/web/page/) are the one exception.
 * Each rule is also run on a small synthetic tree that breaks it, so a checker that sees
 * nothing cannot pass.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findCycles, importEdges, topOf, tsFiles, workerEntryFiles, workerReferences, type ImportEdge } from '../helpers/imports.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIRS = ['src', 'bench', 'workers', 'test'];
const show = (es: readonly ImportEdge[]): string[] => es.map((e) => `${e.from} -> ${e.to}${e.typeOnly ? ' (type)' : ''}`);
const norm = (f: string): string => f.split(path.sep).join('/');
const under = (f: string, dir: string): boolean => norm(f).startsWith(`${dir}/`);

/** Every rule, as a list of violations (empty when the tree keeps it). */
function violations(root: string): Record<string, string[]> {
  const files = tsFiles(root, DIRS);
  const edges = importEdges(root, files).map((e) => ({ ...e, from: norm(e.from), to: norm(e.to) }));
  const entryOk = (f: string): boolean => under(f, 'workers') || under(f, 'test/fixtures') || under(f, 'bench/web/page');
  const refs = workerReferences(root, files);
  return {
    unresolved: show(edges.filter((e) => !files.map(norm).includes(e.to))),
    srcImportsLab: show(edges.filter((e) => topOf(e.from) === 'src' && topOf(e.to) !== 'src')),
    benchImportsWorkers: show(edges.filter((e) => topOf(e.from) === 'bench' && topOf(e.to) === 'workers')),
    labImportsTest: show(edges.filter((e) => (topOf(e.from) === 'bench' || topOf(e.from) === 'workers') && topOf(e.to) === 'test')),
    libraryTestsImportLab: show(edges.filter((e) => (under(e.from, 'test/unit') || under(e.from, 'test/api')) && (topOf(e.to) === 'bench' || topOf(e.to) === 'workers'))),
    cycles: findCycles(edges).map((c) => c.join(' -> ')),
    entryPointsOutside: workerEntryFiles(root, files).map(norm).filter((f) => !entryOk(f)),
    workersStartedOutside: [
      ...refs.filter((r) => r.named !== undefined && !files.map(norm).includes(`workers/${r.named}.ts`)).map((r) => `${norm(r.from)}: starts worker '${r.named}', which has no workers/${r.named}.ts`),
      ...refs.filter((r) => r.dist !== undefined && topOf(r.dist) === 'bench').map((r) => `${norm(r.from)}: starts dist/${norm(r.dist!)}`),
    ],
  };
}

describe('the repository', () => {
  const files = tsFiles(ROOT, DIRS);
  const found = violations(ROOT);

  it('is seen whole by the checker', () => {
    expect(files.length).toBeGreaterThan(80);
    expect(files).toContain(path.join('src', 'index.ts'));
    expect(files).toContain(path.join('workers', 'contention.ts'));
    expect(importEdges(ROOT, files).length).toBeGreaterThan(200);
    expect(workerEntryFiles(ROOT, files).length).toBeGreaterThan(5);
    expect(workerReferences(ROOT, files).filter((r) => r.named !== undefined).length).toBeGreaterThan(4);
  });

  for (const rule of Object.keys(found)) {
    it(`keeps the rule: ${rule}`, () => {
      expect(found[rule]).toEqual([]);
    });
  }
});

describe('the checker, on synthetic trees', () => {
  const write = (root: string, files: Record<string, string>): void => {
    for (const [f, body] of Object.entries(files)) {
      mkdirSync(path.join(root, path.dirname(f)), { recursive: true });
      writeFileSync(path.join(root, f), body);
    }
  };
  const withTree = (files: Record<string, string>, check: (v: Record<string, string[]>) => void): void => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sabmalloc-layering-'));
    try {
      write(dir, files);
      check(violations(dir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  // spelled in pieces so that the checker, reading this file, sees no import or worker use
  const IMPORT = 'imp' + 'ort';
  const WT = 'node:' + 'worker_threads';
  const WU = 'worker' + 'Url';

  it('passes a tree that keeps every rule', () => {
    withTree(
      {
        'src/a.ts': 'export const a = 1;\n',
        'bench/kit/worker-url.ts': `export function ${WU}(n: string): string { return n; }\n`,
        'bench/t.ts': `${IMPORT} { a } from '../src/a.js';\n${IMPORT} { ${WU} } from './kit/worker-url.js';\nexport const u = ${WU}('w');\n`,
        'workers/w.ts': `${IMPORT} { parentPort } from '${WT}';\n${IMPORT} { u } from '../bench/t.js';\nparentPort?.postMessage(u);\n`,
      },
      (v) => expect(Object.values(v).flat()).toEqual([]),
    );
  });

  it('finds each kind of violation', () => {
    withTree(
      {
        'src/a.ts': `${IMPORT} type { T } from '../bench/b.js';\nexport const a = 1;\n`,
        'bench/b.ts': `${IMPORT} type { W } from '../workers/w.js';\n${IMPORT} { c } from './c.js';\nexport type T = W;\nexport const b = c;\n`,
        'bench/c.ts': `${IMPORT} { b } from './b.js';\n${IMPORT} { h } from '../test/helpers/h.js';\nexport const c = b + h;\n`,
        'bench/d.ts': `${IMPORT} { workerData } from '${WT}';\nexport const u = new URL('../dist/bench/d.js', ${IMPORT}.meta.url);\nexport const d = workerData;\n`,
        'bench/e.ts': `export const v = ${WU}('missing');\ndeclare function ${WU}(n: string): URL;\n`,
        'bench/f.ts': `${IMPORT} { x } from './nowhere.js';\nexport const f = x;\n`,
        'workers/w.ts': 'export type W = 1;\n',
        'test/helpers/h.ts': 'export const h = 1;\n',
        'test/unit/u.test.ts': `${IMPORT} { b } from '../../bench/b.js';\nexport const u = b;\n`,
      },
      (v) => {
        expect(v.srcImportsLab).toEqual(['src/a.ts -> bench/b.ts (type)']);
        expect(v.benchImportsWorkers).toEqual(['bench/b.ts -> workers/w.ts (type)']);
        expect(v.labImportsTest).toEqual(['bench/c.ts -> test/helpers/h.ts']);
        expect(v.libraryTestsImportLab).toEqual(['test/unit/u.test.ts -> bench/b.ts']);
        expect(v.cycles).toEqual(['bench/b.ts -> bench/c.ts -> bench/b.ts']);
        expect(v.entryPointsOutside).toEqual(['bench/d.ts']);
        expect(v.workersStartedOutside.sort()).toEqual(["bench/d.ts: starts dist/bench/d.js", "bench/e.ts: starts worker 'missing', which has no workers/missing.ts"]);
        expect(v.unresolved).toEqual(['bench/f.ts -> bench/nowhere.js']);
      },
    );
  });

  it('reads every import form and marks the type-only ones', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sabmalloc-imports-'));
    try {
      write(dir, {
        'src/a.ts': `${IMPORT} { b } from './b.js';\nexport const a = b;\n// ${IMPORT} { z } from './z.js';\n`,
        'src/b.ts': "export { a } from './a.js';\nexport const b = 1;\n",
        'src/c.ts': `${IMPORT} type { T } from '../bench/t.js';\n${IMPORT} { type U } from '../bench/u.js';\n${IMPORT} '../bench/side.js';\nexport const c = await ${IMPORT}('./b.js');\nexport type D = typeof ${IMPORT}('../bench/d.js');\n`,
        'bench/t.ts': 'export type T = 1;\n',
        'bench/u.ts': 'export type U = 1;\n',
        'bench/side.ts': '',
        'bench/d.ts': 'export const d = 1;\n',
      });
      const es = importEdges(dir, tsFiles(dir, ['src', 'bench']));
      expect(show(es).map(norm).sort()).toEqual(
        [
          'src/a.ts -> src/b.ts',
          'src/b.ts -> src/a.ts',
          'src/c.ts -> bench/t.ts (type)',
          'src/c.ts -> bench/u.ts (type)',
          'src/c.ts -> bench/side.ts',
          'src/c.ts -> src/b.ts',
          'src/c.ts -> bench/d.ts (type)',
        ].sort(),
      );
      expect(findCycles(es)).toEqual([['src/a.ts', 'src/b.ts', 'src/a.ts']]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
