/**
 * The lock kinds added for the lock lab that may serve a heap tier (ticket-backoff, twa,
 * partitioned-ticket, malthusian-mcs), and waiting policies chosen per tier, under the
 * allocator's own multi-worker load: workers churn with remote frees and verify every
 * stamped block (test/fixtures/heap-worker.js), then every page comes back. And the lock
 * level dead-thread scenarios (bench/locks/deaths.ts) for those kinds: a worker
 * killed holding the lock, queued for it, or while it is handed over; recoverLock; the
 * survivors and a thread reusing the dead owner id finish, mutually exclusive.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Piscina } from 'piscina';
import { SharedHeap, type HeapOptions } from '../../src/index.js';
import type { ChurnTask, TaskCounts } from '../fixtures/heap-worker.js';
import { KiB, MiB, expectAllPagesFree } from '../helpers/heap.js';
import { heapPool, withTimeout } from '../helpers/pool.js';
import { DEATH_RUN_ITERATIONS, RECORDS_WAIT, deadThreadRun, type DeathMode } from '../../bench/locks/deaths.js';
import type { LockKind } from '../../src/locks/index.js';
import { lockThreads } from '../../bench/locks/threads.js';

const THREADS = 6;
const SLOTS = 1024;
const CONFIGS: { name: string; locks: HeapOptions['locks'] }[] = [
  { name: 'ticket-backoff central, twa page heap', locks: { central: 'ticket-backoff', pageHeap: 'twa' } },
  { name: 'partitioned-ticket central, malthusian-mcs page heap', locks: { central: 'partitioned-ticket', pageHeap: 'malthusian-mcs' } },
  { name: 'malthusian-mcs central (park), ticket page heap (spin)', locks: { central: { kind: 'malthusian-mcs', policy: 'park' }, pageHeap: { kind: 'ticket', policy: 'spin' } } },
  { name: 'mcs central (spin), futex page heap (park)', locks: { central: { kind: 'mcs', policy: 'spin' }, pageHeap: { kind: 'futex', policy: 'park' } } },
];

// One pool of six threads serves every configuration (a task attaches and detaches).
let pool: Piscina | undefined;
afterAll(async () => {
  await pool?.destroy();
  await lockThreads.close();
});

describe.each(CONFIGS)('six workers on one heap: $name', ({ locks }) => {

  it('churns with remote frees, verifies every block, and gives every page back', async () => {
    const heap = SharedHeap.create({ size: 48 * MiB, locks });
    const slotsPtr = heap.malloc(Math.max(SLOTS * 4, 300 * KiB));
    new Int32Array(heap.buffer, slotsPtr, SLOTS).fill(0);
    pool ??= heapPool(THREADS);
    const tasks = Array.from({ length: 12 }, (_, i): ChurnTask => ({ buffer: heap.buffer, slotsPtr, slotCount: SLOTS, ops: 150, seed: 0x10c0 + i }));
    const churned: TaskCounts[] = await withTimeout(Promise.all(tasks.map((t) => pool!.run(t, { name: 'churn' }))), 120_000, 'churn tasks');
    const drained: TaskCounts[] = await withTimeout(
      Promise.all([0, 1, 2, 3].map((i) => pool!.run({ buffer: heap.buffer, slotsPtr, slotCount: SLOTS, from: i * 256, to: (i + 1) * 256 }, { name: 'drain' }))),
      60_000,
      'drain tasks',
    );
    const all = [...churned, ...drained];
    const allocs = all.reduce((a, c) => a + c.allocs, 0);
    expect(allocs).toBe(12 * 150);
    expect(all.reduce((a, c) => a + c.frees, 0), 'every block allocated by a worker was freed by a worker').toBe(allocs);
    expect(all.reduce((a, c) => a + c.remoteFrees, 0)).toBeGreaterThan(0);
    heap.free(slotsPtr);
    expect(heap.stats().attachedThreads).toBe(1);
    expectAllPagesFree(heap);
  }, 180_000);
});

const EXTRA_TIER_KINDS: readonly LockKind[] = ['ticket-backoff', 'twa', 'partitioned-ticket', 'malthusian-mcs'];
const MODES: readonly DeathMode[] = ['holder', 'queued', 'handoff'];

describe.each(EXTRA_TIER_KINDS)('%s lock with a killed worker', (kind) => {
  it.each(MODES)('killed %s: recoverLock frees it on its behalf, survivors and the reused id finish', async (mode) => {
    const r = await deadThreadRun(kind, mode, mode === 'handoff' ? 1 : 0);
    // The scenario waits until a queued victim has recorded its wait (LockNode WAIT) for the
    // kinds in RECORDS_WAIT, so recoverLock must find it waiting. malthusian-mcs is not among
    // them (its culled waiters record no WAIT): the victim gets 30 ms from reaching the lock
    // to queue, and one descheduled for longer is killed before queueing ('none').
    if (mode === 'holder') expect(r.role).toBe('held');
    if (mode === 'queued') {
      if (RECORDS_WAIT.includes(kind)) expect(r.role).toBe('waited');
      else expect(['waited', 'none']).toContain(r.role);
    }
    expect(r.results.map((x) => x.acquisitions)).toEqual([...DEATH_RUN_ITERATIONS]);
    expect(r.results.reduce((a, x) => a + x.violations, 0)).toBe(0);
    expect(r.holderAfter).toBe(0);
  }, 120_000);
});
