/**
 * The real peers (zig-gpa, smo) and the mimalloc-bench style workloads and kvmap, at small
 * counts. The suite fails a run on any verification failure, a failed check() or blocks
 * still live after every worker freed what it held, so "no failures" asserts contents and
 * that the peer ends with every block freed; the direct tests count live blocks through
 * each peer's own counters. The CLI case runs `bench` in-process through main()
 * (test/helpers/cli-run.ts). No timing is asserted.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSmoHeap } from '../../bench/contention/adapters/smo.js';
import { createZigHeap } from '../../bench/contention/adapters/zig.js';
import { runNativeKvmap } from '../../bench/contention/kvmap-native.js';
import { availablePeers } from '../../bench/contention/peers/catalogue.js';
import { bucketFloor, bucketOf, quantile, LATENCY_BUCKETS } from '../../bench/contention/latency.js';
import { peerComparisons } from '../../bench/contention/peer-report.js';
import { runContentionSuite, type SuiteResults } from '../../bench/contention/suite.js';
import { kvmap } from '../../bench/contention/workloads/kvmap.js';
import { workloadByName } from '../../bench/contention/workloads/index.js';
import { between, rng32 } from '../../bench/kit/prng.js';
import { runCli } from '../helpers/cli-run.js';

const SMALL = { scale: 'small' as const, touch: 'full' as const, durationMs: 40, reps: 1, warmup: false, fullCleanup: true, failFast: true, progress: false as const };
const NEW_WORKLOADS = ['rptest', 'sh6bench', 'sh8bench', 'alloc-test', 'glibc-thread', 'malloc-large', 'kvmap'];

// One suite run for the three allocators on one pool (onePool: correctness, so the report's
// ratios are checked for being there, not for their values), so the postMessage kvmap runs
// once and the peer report compares them on every workload.
describe('the new workloads on zig-gpa, smo and sabmalloc at 2 workers', () => {
  let r: SuiteResults;
  beforeAll(async () => {
    r = await runContentionSuite({ ...SMALL, allocators: ['zig-gpa', 'smo', 'sabmalloc'], workloads: NEW_WORKLOADS, workers: [2], onePool: true });
  }, 240_000);

  it.each(['zig-gpa', 'smo', 'sabmalloc'])('%s: verify every block, pass the check and end with every block freed', (allocator) => {
    expect(r.failures).toEqual([]);
    const runs = r.runs.filter((x) => x.allocator === allocator);
    expect(runs.map((x) => x.workload).sort()).toEqual([...NEW_WORKLOADS].sort());
    for (const run of runs) {
      expect(run.mallocs).toBeGreaterThan(0);
      expect(run.frees).toBeGreaterThan(0);
      expect(run.resources!.wallSeconds).toBeGreaterThan(0);
      expect(run.resources!.peakRssBytes).toBeGreaterThan(0);
      expect(run.latency!.samples).toBeGreaterThan(0);
    }
  });

  it('runs the postMessage kvmap once, and the report compares sabmalloc with the best real peer on every workload', () => {
    expect(r.kvmapNative?.length).toBe(1);
    const c = peerComparisons(r);
    expect(c.map((x) => x.workload).sort()).toEqual([...NEW_WORKLOADS].sort());
    for (const x of c) {
      expect(['zig-gpa', 'smo'], x.workload).toContain(x.bestPeer);
      expect(x.ratio, x.workload).toBeGreaterThan(0);
    }
  });
});

describe('the existing workloads on peers zig-gpa and smo', () => {
  it('ring, larson, xmalloc and mstress pass at 1 and 2 workers', async () => {
    const r = await runContentionSuite({ ...SMALL, allocators: ['zig-gpa', 'smo'], workloads: ['ring', 'larson', 'xmalloc', 'mstress'], workers: [1, 2], onePool: true });
    expect(r.failures).toEqual([]);
    for (const allocator of ['zig-gpa', 'smo']) expect(r.runs.filter((x) => x.allocator === allocator), allocator).toHaveLength(8);
  });
});

describe('each peer on the main thread', () => {
  it.each([
    ['zig-gpa', createZigHeap],
    ['smo', createSmoHeap],
  ] as const)('%s: blocks hold their contents, live counts return to 0', (id, create) => {
    const heap = create({ id, label: id, family: id === 'smo' ? 'smo' : 'zig' }, { liveBytes: 4 << 20, workers: 1, preallocate: false });
    const a = heap.adapter;
    const h = new Int32Array(a.buffer);
    const blocks: [number, number][] = [];
    for (let i = 0; i < 500; i++) {
      const n = 8 + ((i * 97) % 3000);
      const p = a.malloc(n);
      expect(p % 8).toBe(0);
      h.fill(i + 1, p >>> 2, (p + n) >>> 2);
      blocks.push([p, n]);
    }
    expect(heap.liveObjects()).toBe(500);
    expect(a.memory().live).toBeGreaterThanOrEqual(blocks.reduce((s, [, n]) => s + n, 0));
    blocks.forEach(([p, n], i) => {
      expect(h[p >>> 2]).toBe(i + 1);
      expect(h[((p + n) >>> 2) - 1]).toBe(i + 1);
      if (i % 2 === 0) a.free(p);
    });
    heap.check();
    blocks.forEach(([p], i) => {
      if (i % 2 === 1) a.free(p);
    });
    expect(heap.liveObjects()).toBe(0);
    expect(a.memory().live).toBe(0);
    heap.check();
    heap.dispose();
  });
});

describe('smo sized for big blocks', () => {
  // malloc-large on one worker: 4 live blocks of 5-25 MiB replaced at random. smo never
  // splits nor merges a block, so a request larger than every free block carves a new one;
  // in a buffer sized for three times the live set alone (212 MiB), most of these sequences
  // run out of memory.
  it.each([1, 2, 3, 4, 5, 6])('replaces 4 blocks of 5-25 MiB 3,000 times in the buffer sized from the workload (seed %i)', (seed) => {
    const def = workloadByName('malloc-large');
    const params = { ...def.defaults };
    const heap = createSmoHeap({ id: 'smo', label: 'smo', family: 'smo' }, { liveBytes: def.liveBytes(params, 1), maxBlockBytes: def.maxBlockBytes!(params), workers: 1, preallocate: false });
    const a = heap.adapter;
    const next = rng32(seed);
    const size = (): number => between(next, params.minSize, params.maxSize);
    const slots = Array.from({ length: params.slots }, () => a.malloc(size()));
    for (let i = 0; i < 3000; i++) {
      const k = next() % slots.length;
      a.free(slots[k]!);
      slots[k] = a.malloc(size());
    }
    for (const p of slots) a.free(p);
    expect(heap.liveObjects()).toBe(0);
    heap.check();
    heap.dispose();
  });
});

describe('a peer that is not built', () => {
  it('availablePeers says which and how to build them, in one line', () => {
    const before = process.env.SABMALLOC_ZIG_PEER_DIR;
    process.env.SABMALLOC_ZIG_PEER_DIR = mkdtempSync(path.join(os.tmpdir(), 'no-zig-'));
    try {
      const p = availablePeers(['sabmalloc', 'zig-gpa', 'smo']);
      expect(p.runnable).toEqual(['sabmalloc', 'smo']);
      expect(p.missing).toEqual(['zig-gpa']);
      expect(p.line).toMatch(/^peers unavailable, skipped: zig-gpa \(build: .*build-peers.*\)$/);
    } finally {
      if (before === undefined) delete process.env.SABMALLOC_ZIG_PEER_DIR;
      else process.env.SABMALLOC_ZIG_PEER_DIR = before;
    }
    expect(availablePeers(['sabmalloc', 'zig-gpa', 'smo']).line).toBeNull();
  });

  it('the CLI runs the rest and prints that line once', async () => {
    const before = process.env.SABMALLOC_ZIG_PEER_DIR;
    process.env.SABMALLOC_ZIG_PEER_DIR = mkdtempSync(path.join(os.tmpdir(), 'no-zig-'));
    let r: Awaited<ReturnType<typeof runCli>>;
    try {
      r = await runCli(['bench', '--quick', '--no-micro', '--no-write', '--no-warmup', '--workloads', 'ring', '--allocators', 'sabmalloc,zig-gpa', '--workers', '1', '--reps', '1', '--duration', '30', '--param', 'ring.slots=64']);
    } finally {
      if (before === undefined) delete process.env.SABMALLOC_ZIG_PEER_DIR;
      else process.env.SABMALLOC_ZIG_PEER_DIR = before;
    }
    expect(r.code, r.err).toBe(0);
    const lines = r.err.split('\n').filter((l) => l.includes('peers unavailable'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('zig-gpa');
    expect(r.out).toContain('sabmalloc');
    expect(r.out).not.toMatch(/^zig-gpa /m);
  });
});

describe('kvmap against the postMessage alternative', () => {
  it('runs the same mix on per-worker Maps and applies every peer update', async () => {
    const params = { ...kvmap.defaults, ...kvmap.small };
    const one = await runNativeKvmap({ workers: 1, params, seed: 3, durationMs: 40 });
    expect(one.ops).toBeGreaterThan(0);
    expect(one.applied).toBe(0);
    const two = await runNativeKvmap({ workers: 2, params, seed: 3, durationMs: 40 });
    expect(two.ops).toBeGreaterThan(0);
    // every write or delete one worker made reached the other (plus one end marker each)
    expect(two.applied).toBeGreaterThan(2);
  });
});

describe('latency histogram', () => {
  it('buckets are ordered and quantiles land in the right bucket', () => {
    for (const ns of [1, 7, 100, 1000, 12345, 1e6]) {
      const b = bucketOf(ns);
      expect(bucketFloor(b)).toBeLessThanOrEqual(ns);
      expect(bucketFloor(b + 1)).toBeGreaterThan(ns);
    }
    const h = new Array<number>(LATENCY_BUCKETS).fill(0);
    h[bucketOf(100)] = 990;
    h[bucketOf(10_000)] = 9;
    h[bucketOf(1e6)] = 1;
    expect(quantile(h, 0.5)).toBe(bucketFloor(bucketOf(100)));
    expect(quantile(h, 0.99)).toBe(bucketFloor(bucketOf(100)));
    expect(quantile(h, 0.999)).toBe(bucketFloor(bucketOf(10_000)));
    expect(quantile(new Array<number>(LATENCY_BUCKETS).fill(0), 0.5)).toBeNull();
  });
});
