#!/usr/bin/env node
// The lab's `sabmalloc` command in a clone (`npx sabmalloc ...` after `npm ci`). npm links
// it into node_modules/.bin through the bench/cli workspace; it runs the compiled CLI from
// dist/, which `npm ci` builds (the root `prepare` script). Plain JavaScript so that it
// exists before anything is built and can say so instead of failing with a module error.
import { existsSync } from 'node:fs';

const main = new URL('../../dist/bench/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('sabmalloc: the lab is not built (dist/bench/cli/main.js is missing): run `npm run build` in the repository first');
  process.exit(1);
}
const { run } = await import(main.href);
await run(process.argv.slice(2));
