// Types of the lab's programmatic API (bench/lab.ts), once dist/ is built.
export * from '../../dist/bench/lab.js';
