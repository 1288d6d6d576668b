// `import { ... } from 'sabmalloc-lab'` inside a clone: the lab's programmatic API
// (bench/lab.ts, compiled to dist/ by `npm ci` / `npm run build`).
export * from '../../dist/bench/lab.js';
