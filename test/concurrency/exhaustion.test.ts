/**
 * Eight workers exhaust a small (2 MiB) heap at the same time: each keeps allocating until
 * even a 16-byte request throws OutOfMemoryError, none hangs (every step is bounded by a
 * timeout), then other workers verify and free all those blocks and every worker can
 * allocate again. A growable heap under the same pressure grows instead of failing; that
 * part runs on ten fresh heaps, since workers racing through growth is where bugs hide.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Piscina } from 'piscina';
import { SharedHeap } from '../../src/index.js';
import { tagOf, verifyBlock, viewsOf } from '../helpers/stamp.js';
import type { AllocResult, AllocTask, ExhaustResult, ExhaustTask, FreeTask, TaskCounts } from '../fixtures/heap-worker.js';
import { CODES } from '../helpers/errors.js';
import { KiB, MiB, expectAllPagesFree } from '../helpers/heap.js';
import { heapPool, withTimeout } from '../helpers/pool.js';

const WORKERS = 8;
const STEP_MS = 60_000;

describe('exhaustion by many workers', () => {
  let pool: Piscina | undefined;
  const workers = (): Piscina => (pool ??= heapPool(WORKERS));
  afterAll(async () => {
    await pool?.destroy();
  });

  function runAll<T, R>(name: string, tasks: T[]): Promise<R[]> {
    return withTimeout(Promise.all(tasks.map((t) => workers().run(t, { name }) as Promise<R>)), STEP_MS, `${tasks.length} ${name} tasks`);
  }

  /** Each worker frees (after verifying) the blocks of the next worker: remote frees. */
  async function freeRotated(heap: SharedHeap, lists: number[][]): Promise<void> {
    const tasks: FreeTask[] = lists.map((_, i) => ({ buffer: heap.buffer, blocks: lists[(i + 1) % lists.length]! }));
    const freed = await runAll<FreeTask, TaskCounts>('freeBlocks', tasks);
    expect(freed.reduce((a, c) => a + c.frees, 0)).toBe(lists.reduce((a, l) => a + l.length, 0));
  }

  it(
    'a 2 MiB heap: every worker gets OutOfMemoryError, none hangs, all allocate again after frees',
    async () => {
      const heap = SharedHeap.create({ size: 2 * MiB });
      for (let round = 0; round < 2; round++) {
        const tasks: ExhaustTask[] = Array.from({ length: WORKERS }, (_, i) => ({
          buffer: heap.buffer,
          seed: 1000 * round + i + 1,
          maxSize: 512 * KiB,
          maxBlocks: 200_000,
        }));
        const got = await runAll<ExhaustTask, ExhaustResult>('exhaust', tasks);
        for (const r of got) {
          expect(r.oom, `worker ${r.threadId} saw OutOfMemoryError`).toBeGreaterThan(0);
          expect(r.oomCode).toBe(CODES.oom);
        }
        const held = got.reduce((a, r) => a + r.blocks.length, 0);
        const liveBytes = got.reduce((a, r) => a + r.liveBytes, 0);
        heap.check();
        const s = heap.stats();
        expect(s.inUseObjects).toBe(held);
        expect(s.heapBytes).toBe(2 * MiB);
        // Sanity: the heap really was used up, not refused early.
        expect(liveBytes, `round ${round}: ${liveBytes} bytes live at exhaustion`).toBeGreaterThan(s.heapBytes / 4);

        await freeRotated(heap, got.map((r) => r.blocks));
        expectAllPagesFree(heap);

        const again = await runAll<AllocTask, AllocResult>(
          'allocSizes',
          Array.from({ length: WORKERS }, (_, i) => ({ buffer: heap.buffer, sizes: [16, 1000 + i, 16 * KiB, 100 * KiB] })),
        );
        expect(again.every((r) => r.allocs === 4 && r.frees === 4)).toBe(true);
        // And one block of nearly the whole heap: the freed pages coalesced.
        const big = heap.malloc(heap.stats().heapBytes - 64 * KiB);
        heap.free(big);
        expectAllPagesFree(heap);
      }
    },
    200_000,
  );

  it(
    'a growable heap grows instead of failing (10 fresh heaps: growth races between workers)',
    async () => {
      const sizes = (i: number): number[] => [
        ...Array.from({ length: 100 }, (_, k) => 16 + ((k * 37 + i) % 1000)),
        ...Array.from({ length: 40 }, (_, k) => 8 * KiB + k * 200 + i),
        300 * KiB + i * 16,
        700 * KiB,
      ];
      for (let round = 0; round < 10; round++) {
        const heap = SharedHeap.create({ size: 1 * MiB, maxSize: 32 * MiB });
        const committed0 = heap.stats().committedBytes;
        const v = viewsOf(heap.buffer); // taken before the workers grow the heap: it covers every page
        const got = await runAll<AllocTask, AllocResult>(
          'allocSizes',
          Array.from({ length: WORKERS }, (_, i) => ({ buffer: heap.buffer, sizes: sizes(i + round), keep: true })),
        );
        const s = heap.stats();
        expect(s.heapBytes, 'the heap grew past its initial 1 MiB').toBeGreaterThan(1 * MiB);
        expect(s.heapBytes).toBeLessThanOrEqual(32 * MiB);
        expect(s.committedBytes).toBeGreaterThan(committed0);
        expect(s.committedBytes).toBe(s.touchedBytes + s.metadataBytes);
        // This thread's early view sees the pages the workers' growth added, with their contents.
        for (const r of got) {
          for (const p of r.blocks) {
            expect(tagOf(v, p)).toBe(r.threadId + 1);
            expect(verifyBlock(v, p, heap.usableSize(p))).toBeNull();
          }
        }
        heap.check();
        await freeRotated(heap, got.map((r) => r.blocks));
        expectAllPagesFree(heap);
        heap.detach();
      }
    },
    120_000,
  );
});
