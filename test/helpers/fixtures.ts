/**
 * Where a test finds a compiled fixture worker (test/fixtures/<name>.ts): its bundle in
 * dist/bundles/fixtures/ while that is fresh, else dist/test/fixtures/<name>.js. The rule
 * is the lab's (bench/kit/worker-url.ts, whose bundler writes both): a bundle not older than
 * dist/.tsbuildinfo, which every emitting tsc rewrites. Kept here rather than imported, so
 * that the library's tests depend on nothing of the lab.
 */
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIST = new URL('../../dist/', import.meta.url);
const modified = (url: URL): number => (existsSync(fileURLToPath(url)) ? statSync(url).mtimeMs : 0);

/** URL of the compiled fixture `name`; throws when `npm run build` has not run. */
export function fixtureUrl(name: string): URL {
  const plain = new URL(`test/fixtures/${name}.js`, DIST);
  if (!existsSync(fileURLToPath(plain))) throw new Error(`${fileURLToPath(plain)} is missing: run \`npm run build\` first (npm test does)`);
  const bundle = new URL(`bundles/fixtures/${name}.js`, DIST);
  const built = modified(new URL('.tsbuildinfo', DIST));
  return built > 0 && modified(bundle) >= built ? bundle : plain;
}
