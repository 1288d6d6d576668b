/**
 * The repository's layering (issue 10, "No cycles"), checked on the import graph of every
 * .ts file in src/, bench/, workers/ and test/:
 *  - src/ (the published library) imports nothing from bench/, workers/ or test/, not even
 *    a type;
 *  - the lab depends one way: workers/ (the lab's thread entry points) may import bench/,
 *    bench/ never imports workers/ at run time (it starts workers by file URL; a type-only
 *    import of a task's shape is erased by tsc and allowed), and neither imports test/;
 *  - no import cycle anywhere (run-time edges), and every relative import resolves.
 * The walker itself is checked on a small fixture graph so that a broken walker cannot
 * pass vacuously.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findCycles, importEdges, topOf, tsFiles, type ImportEdge } from './helpers/imports.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const files = tsFiles(ROOT, ['src', 'bench', 'workers', 'test']);
const edges = importEdges(ROOT, files);
// spelled in two pieces so that the walker, reading this file, does not see an import
const DYNAMIC_IMPORT_OF_B = 'export const c = await im' + "port('./b.js');\nexport type D = typeof im" + "port('../bench/d.js');\n";
const show = (es: readonly ImportEdge[]): string[] => es.map((e) => `${e.from} -> ${e.to}${e.typeOnly ? ' (type)' : ''}`);

describe('import graph', () => {
  it('sees the whole tree', () => {
    expect(files.length).toBeGreaterThan(60);
    expect(files).toContain('src/index.ts');
    expect(files).toContain('workers/contention-worker.ts');
    expect(edges.length).toBeGreaterThan(150);
  });

  it('every relative import resolves to a file', () => {
    expect(show(edges.filter((e) => !files.includes(e.to)))).toEqual([]);
  });

  it('src/ imports nothing from bench/, workers/ or test/', () => {
    expect(show(edges.filter((e) => topOf(e.from) === 'src' && topOf(e.to) !== 'src'))).toEqual([]);
  });

  it('bench/ does not import workers/ at run time, and the lab never imports test/', () => {
    expect(show(edges.filter((e) => topOf(e.from) === 'bench' && topOf(e.to) === 'workers' && !e.typeOnly))).toEqual([]);
    expect(show(edges.filter((e) => (topOf(e.from) === 'bench' || topOf(e.from) === 'workers') && topOf(e.to) === 'test'))).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(findCycles(edges.filter((e) => !e.typeOnly)).map((c) => c.join(' -> '))).toEqual([]);
  });
});

describe('the walker', () => {
  it('finds imports of every form, type-only edges and cycles in a fixture tree', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sabmalloc-imports-'));
    try {
      mkdirSync(path.join(dir, 'src'));
      mkdirSync(path.join(dir, 'bench'));
      writeFileSync(path.join(dir, 'src', 'a.ts'), "import { b } from './b.js';\nexport const a = b;\n// import { z } from './z.js';\n");
      writeFileSync(path.join(dir, 'src', 'b.ts'), "export { a } from './a.js';\nexport const b = 1;\n");
      writeFileSync(path.join(dir, 'src', 'c.ts'), "import type { T } from '../bench/t.js';\nimport { type U } from '../bench/u.js';\nimport '../bench/side.js';\n" + DYNAMIC_IMPORT_OF_B);
      writeFileSync(path.join(dir, 'bench', 't.ts'), 'export type T = 1;\n');
      writeFileSync(path.join(dir, 'bench', 'u.ts'), 'export type U = 1;\n');
      writeFileSync(path.join(dir, 'bench', 'side.ts'), '');
      writeFileSync(path.join(dir, 'bench', 'd.ts'), 'export const d = 1;\n');
      const fs = tsFiles(dir, ['src', 'bench']);
      const es = importEdges(dir, fs);
      expect(show(es).sort()).toEqual(
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
