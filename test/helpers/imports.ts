/**
 * A small import-graph walker over the project's TypeScript files (src, bench, workers,
 * test), for the layering test. It reads static `import ... from`, `export ... from`,
 * `import '...'` and `import('literal')` specifiers (relative ones only: packages are not
 * part of the graph), resolves `./x.js` to `./x.ts` (or `.cts`), and marks an edge
 * type-only when TypeScript erases it (`import type`, `export type`, every imported name
 * marked `type`, `typeof import('x')`, `import('x').Type`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
}

const SKIP = new Set(['node_modules', 'dist', 'results', '.git']);

export function tsFiles(root: string, dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      if (SKIP.has(name)) continue;
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(c|m)?ts$/.test(name) && !name.endsWith('.d.ts')) out.push(path.relative(root, full));
    }
  };
  for (const d of dirs) if (existsSync(path.join(root, d))) walk(path.join(root, d));
  return out.sort();
}

const STATIC = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g;
const BARE = /(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;
// `typeof import('x')` and `import('x').Type` are type positions; other import('x') calls run
const DYNAMIC = /(typeof\s+)?\bimport\(\s*['"]([^'"]+)['"]\s*\)(\.[A-Z])?/g;

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

function allNamesTyped(clause: string): boolean {
  const m = /\{([^}]*)\}/.exec(clause);
  if (!m || /^[^{]*[A-Za-z_$*]/.test(clause.slice(0, clause.indexOf('{')))) return false; // default or namespace import too
  const names = m[1]!.split(',').map((s) => s.trim()).filter(Boolean);
  return names.length > 0 && names.every((n) => n.startsWith('type '));
}

function resolveSpec(root: string, from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.join(path.dirname(path.join(root, from)), spec);
  for (const cand of [base.replace(/\.js$/, '.ts'), base.replace(/\.cjs$/, '.cts'), base.replace(/\.mjs$/, '.mts'), base, `${base}.ts`]) {
    if (existsSync(cand) && statSync(cand).isFile()) return path.relative(root, cand);
  }
  return path.relative(root, base); // unresolved: kept so the test can report it
}

export function importEdges(root: string, files: readonly string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const from of files) {
    const src = stripComments(readFileSync(path.join(root, from), 'utf8'));
    const add = (spec: string, typeOnly: boolean): void => {
      const to = resolveSpec(root, from, spec);
      if (to !== null) edges.push({ from, to, typeOnly });
    };
    for (const m of src.matchAll(STATIC)) add(m[4]!, m[2] !== undefined || allNamesTyped(m[3]!));
    for (const m of src.matchAll(BARE)) add(m[1]!, false);
    for (const m of src.matchAll(DYNAMIC)) add(m[2]!, m[1] !== undefined || m[3] !== undefined);
  }
  return edges;
}

/** Every elementary cycle found by a DFS (each reported once, as a path a -> ... -> a). */
export function findCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    const list = next.get(e.from) ?? [];
    if (!list.includes(e.to)) list.push(e.to);
    next.set(e.from, list);
  }
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const state = new Map<string, 1 | 2>(); // 1 = on the stack, 2 = done
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 1);
    stack.push(n);
    for (const m of next.get(n) ?? []) {
      if (state.get(m) === 1) {
        const cyc = stack.slice(stack.indexOf(m));
        const id = [...cyc].sort().join('|');
        if (!seen.has(id)) {
          seen.add(id);
          cycles.push([...cyc, m]);
        }
      } else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of [...next.keys()].sort()) if (!state.has(n)) visit(n);
  return cycles;
}

/** The top-level folder of a repository-relative path. */
export function topOf(file: string): string {
  return file.split(/[\\/]/)[0]!;
}

/**
 * Files that use the worker_threads entry-point API: a worker talks to its parent through
 * parentPort or reads workerData. isMainThread alone does not make an entry point (a
 * module may ask which thread imported it).
 */
export function workerEntryFiles(root: string, files: readonly string[]): string[] {
  const USES = /import\s*\{([^}]*)\}\s*from\s*['"](?:node:)?worker_threads['"]/;
  return files.filter((f) => {
    const m = USES.exec(stripComments(readFileSync(path.join(root, f), 'utf8')));
    return m !== null && /\b(parentPort|workerData)\b/.test(m[1]!);
  });
}

/**
 * Worker URLs a file builds: `workerUrl('name')` calls, `fixtureUrl('name')` calls (a
 * compiled test/fixtures/<name>.ts) and `new URL('...dist/x.js', ...)` literals.
 */
export function workerReferences(root: string, files: readonly string[]): { from: string; named?: string; dist?: string }[] {
  const out: { from: string; named?: string; dist?: string }[] = [];
  for (const from of files) {
    const src = stripComments(readFileSync(path.join(root, from), 'utf8'));
    for (const m of src.matchAll(/\bworkerUrl\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ from, named: m[1]! });
    for (const m of src.matchAll(/\bfixtureUrl\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ from, dist: path.join('test', 'fixtures', `${m[1]!}.js`) });
    for (const m of src.matchAll(/new URL\(\s*['"`](\.[^'"`$?]*\.js)['"`]\s*,\s*import\.meta\.url/g)) {
      const abs = path.relative(root, path.join(path.dirname(path.join(root, from)), m[1]!));
      if (abs.startsWith(`dist${path.sep}`)) out.push({ from, dist: abs.slice(5) });
    }
  }
  return out;
}
