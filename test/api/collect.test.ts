/**
 * Heaps dropped without detach() are collected: the module keeps this
 * thread's handles weakly, and a dropped handle's liveness-probe waiters (which would hold
 * the buffer) are woken and not re-armed. Measured in a child process run with --expose-gc:
 * a FinalizationRegistry on each dropped heap's buffer must fire, not an RSS figure. The
 * same child checks that a kept heap still gives the same handle on attach().
 */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const INDEX = new URL('../../dist/src/index.js', import.meta.url).href;
const HEAPS = 40;

const SCRIPT = `
const { SharedHeap } = await import(${JSON.stringify(INDEX)});
let collected = 0;
const buffers = new FinalizationRegistry(() => collected++);
const kept = SharedHeap.create({ size: 4 << 20 });
// In a function: a top-level loop variable keeps its last value reachable in V8.
function useAndDrop(i) {
  const h = SharedHeap.create({ size: 32 << 20 });
  h.free(h.malloc(100));
  h.check();
  buffers.register(h.buffer, i);
}
for (let i = 0; i < ${HEAPS}; i++) useAndDrop(i);
for (let round = 0; round < 50 && collected < ${HEAPS}; round++) {
  globalThis.gc();
  await new Promise((r) => setTimeout(r, 10));
}
const same = SharedHeap.attach(kept.buffer) === kept;
kept.check();
console.log(JSON.stringify({ collected, same }));
`;

function runChild(): Promise<{ collected: number; same: boolean }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', '--input-type=module', '-e', SCRIPT], { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as { collected: number; same: boolean });
    });
  });
}

describe('dropped heaps', () => {
  it(`${HEAPS} heaps of 32 MiB dropped without detach() are collected; a kept heap keeps its handle`, async () => {
    const r = await runChild();
    expect(r.same).toBe(true);
    expect(r.collected).toBe(HEAPS);
  });
});
