/**
 * The contention suite at small scale: every workload against every allocator adapter
 * (sabmalloc default on 2 and 4 workers; no thread cache, global lock, thi.ng behind a futex
 * on 2, in one suite run; larson and ring on every lock kind on 3) with tiny windows
 * (20 ms) and live sets.
 * The suite itself fails a run on any
 * verification failure, a failed heap check() afterwards, or objects left in use after
 * everything was freed (fullCleanup makes the thi.ng runs free everything too), so "no
 * failures" is the assertion. No timing is asserted anywhere.
 *
 * In-process checks (no workers): each workload, run by one worker against a toy
 * allocator, passes when the allocator is correct and throws a VerificationError when the
 * allocator hands out overlapping blocks, so a broken allocator cannot post a number.
 */
import { describe, expect, it } from 'vitest';
import type { AllocatorAdapter, AllocatorSnapshot, MemorySample } from '../../bench/contention/adapters/types.js';
import { CTL_I32, controlViews, createControl } from '../../bench/kit/control.js';
import { countsOf, resolveParams, runContentionSuite } from '../../bench/contention/suite.js';
import { RAND_MASK, VerificationError, fillRandom, setTouchMode, type TouchMode, type WorkerOutcome, type WorkerTask } from '../../bench/contention/workloads/common.js';
import { WORKLOADS } from '../../bench/contention/workloads/index.js';
import { parseBenchArgs } from '../../bench/contention/command.js';
import { loadAllocatorModule } from '../../bench/contention/adapters/module.js';

// Heaps grow on demand (from 1 MiB), as in the benchmark: concurrent growth is exercised.
const SMALL = { scale: 'small' as const, touch: 'full' as const, durationMs: 20, reps: 1, warmup: false, fullCleanup: true, failFast: true, progress: false as const };

/** Every workload at each of `workers` on each allocator, up to its own maxWorkers (malloc-large: 2). */
async function everyWorkload(allocators: string[], workers: number[]): Promise<void> {
  const r = await runContentionSuite({ ...SMALL, allocators, workers, onePool: true });
  expect(r.failures).toEqual([]);
  for (const a of allocators) {
    const runs = r.runs.filter((x) => x.allocator === a);
    expect(runs, a).toHaveLength(WORKLOADS.reduce((n, def) => n + countsOf(def, workers, true).length, 0));
    expect(runs.reduce((n, x) => n + x.mallocs, 0), a).toBeGreaterThan(0);
  }
  for (const run of r.runs) {
    expect(run.mallocs).toBeGreaterThanOrEqual(0);
    expect(run.seconds).toBeGreaterThan(0);
  }
}

// sabmalloc at 2 and 4 workers; the other adapters at 2, where every workload runs (malloc-large
// stops at 2), all three in one suite run on one pool (onePool: the threads take turns with
// every adapter): each adapter's correctness, not its scaling, is what this checks.
describe('every workload on every adapter', () => {
  it('sabmalloc at 2 and 4 workers passes verification, the heap check and the leak check', async () => {
    await everyWorkload(['sabmalloc'], [2, 4]);
  });
  it('sabmalloc-notc, global-lock and thing-futex at 2 workers pass verification, the heap check and the leak check', async () => {
    await everyWorkload(['sabmalloc-notc', 'global-lock', 'thing-futex'], [2]);
  });
});

describe('a worker that fails with an error rebuilt from another thread', () => {
  // Node rebuilds a worker's uncaught error as an object of Error.prototype, not a real
  // Error: cloned to the main thread as it was, it kept only its own name, and the run
  // failed with "[object Object]".
  it('fails the run with that error\'s name and message and the worker that met it', async () => {
    const { id } = await loadAllocatorModule('test/fixtures/allocator-modules/errorlike-allocator.js');
    const r = await runContentionSuite({ ...SMALL, failFast: false, allocators: [id], workers: [2], workloads: ['larson'], durationMs: 200 });
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]!.error).toMatch(/\[larson \/ errorlike \/ worker \d of 2\] VerificationError: errorlike-allocator: malloc gave up/);
  });
});

describe('heap growth under concurrency', () => {
  // 4 workers filling 2,000-slot larson arrays grow a 1 MiB heap many times while the
  // others allocate: this caught CentralCache reading fresh spans through stale views.
  it('larson at quick scale on a growing sabmalloc heap passes, three times', async () => {
    const r = await runContentionSuite({ ...SMALL, scale: 'quick', durationMs: 40, allocators: ['sabmalloc'], workloads: ['larson'], workers: [4], reps: 3 });
    expect(r.failures).toEqual([]);
    expect(r.runs).toHaveLength(3);
  });
});

describe('every lock kind on both tiers', () => {
  // One pool of 3 threads for the six kinds (onePool: correctness, no comparison).
  // 3 workers on 2 cores, so lock holders get preempted with waiters queued; larson's remote
  // frees and ring's hand-offs both go through the central caches' and the page heap's locks
  // (xmalloc, whose frees are remote frees too, runs on the default locks above).
  it('larson and ring pass at 3 workers', async () => {
    const r = await runContentionSuite({ ...SMALL, allocators: ['locks-all'], workloads: ['larson', 'ring'], workers: [3], onePool: true });
    expect(r.failures).toEqual([]);
    expect(new Set(r.runs.map((x) => x.allocator)).size).toBe(6);
  });
});

describe('figures and targets', () => {
  it('computes scaling, baseline ratios and every target from a tiny run', async () => {
    const r = await runContentionSuite({ ...SMALL, allocators: ['sabmalloc', 'global-lock', 'thing-futex'], workloads: ['ring'], workers: [1, 2], onePool: true });
    expect(r.failures).toEqual([]);
    const f = r.figures.find((x) => x.allocator === 'sabmalloc' && x.workload === 'ring' && x.workers === 2)!;
    expect(f.scaling).not.toBeNull();
    expect(f.ratioToGlobalLock).not.toBeNull();
    expect(f.ratioToThing).not.toBeNull();
    expect(Object.keys(f.locks).sort()).toEqual(['central', 'pageHeap']);
    const ids = r.targets.map((t) => t.id);
    expect(ids).toEqual(['scaling-2', 'keep-64', 'vs-global-lock', 'vs-thing', 'blowup']);
    expect(r.targets.find((t) => t.id === 'keep-64')!.met).toBeNull(); // no 64-worker runs
    // scaling-2 is defined over larson, threadtest and ring: with ring alone it is not judged
    const scaling = r.targets.find((t) => t.id === 'scaling-2')!;
    expect([scaling.met, scaling.worst]).toEqual([null, null]);
    expect(scaling.explanation).toMatch(/^not judged: the run does not cover larson @ 2 workers, threadtest @ 2 workers/);
    // the figure's throughput as a Point: one repetition, flagged as such
    expect(f.tput).toMatchObject({ n: 1, median: f.throughput.median, flags: expect.arrayContaining(['few-reps']) });
    // the tiers' contended waits as histograms (log2 buckets), in the figure
    for (const tier of ['central', 'pageHeap']) expect(f.locks[tier]!.wait?.counts).toHaveLength(32);
  });
});

/**
 * A toy single-threaded allocator: bump allocation with exact free tracking. Broken modes:
 * 'overlap' hands out every 50th block 16 bytes after the previous one; 'duplicate' hands
 * out every 50th block a second time while it is still live (the race of a free list).
 */
class ToyAdapter implements AllocatorAdapter {
  readonly buffer = new SharedArrayBuffer(64 << 20);
  private top = 64;
  private readonly live = new Map<number, number>();
  private readonly free16 = new Map<number, number[]>();
  private calls = 0;
  private last = 0;
  /** bytes held by the workload now, and their exact peak (the toy sees every call) */
  liveBytes = 0;
  peakLiveBytes = 0;
  private readonly dup = new Map<number, number>();
  constructor(private readonly mode: 'ok' | 'overlap' | 'duplicate') {}
  malloc(n: number): number {
    const size = (n + 15) & ~15;
    const broken = ++this.calls % 50 === 0;
    if (broken && this.mode === 'duplicate' && this.live.has(this.last) && this.live.get(this.last)! >= size) {
      this.dup.set(this.last, (this.dup.get(this.last) ?? 0) + 1);
      return this.last;
    }
    const list = this.free16.get(size);
    let p = list?.pop();
    if (p === undefined) {
      p = this.top;
      this.top += broken && this.mode === 'overlap' ? 16 : size;
    }
    if (p + size > this.buffer.byteLength) throw new Error('toy allocator out of memory');
    this.live.set(p, size);
    this.liveBytes += size;
    if (this.liveBytes > this.peakLiveBytes) this.peakLiveBytes = this.liveBytes;
    this.last = p;
    return p;
  }
  free(p: number): void {
    const size = this.live.get(p);
    if (size === undefined) throw new Error(`toy allocator: bad free ${p}`);
    const d = this.dup.get(p);
    if (d) {
      // the second owner's free of a duplicated block
      if (d === 1) this.dup.delete(p);
      else this.dup.set(p, d - 1);
      return;
    }
    this.live.delete(p);
    this.liveBytes -= size;
    (this.free16.get(size) ?? this.free16.set(size, []).get(size)!).push(p);
  }
  detach(): void {}
  memory(): MemorySample {
    return { committed: this.top, live: [...this.live.values()].reduce((a, b) => a + b, 0), metadata: 0 };
  }
  snapshot(): AllocatorSnapshot {
    return { locks: {}, threadCacheHits: 0, threadCacheMisses: 0, mallocCount: 0, freeCount: 0, committed: this.top, live: 0, metadata: 0 };
  }
  get liveCount(): number {
    return this.live.size;
  }
  protected sizeOf(p: number): number {
    const size = this.live.get(p);
    if (size === undefined) throw new Error(`toy allocator: usableSize of ${p}, not a live block`);
    return size;
  }
}

/** A correct toy that also reports usable sizes, so workloads may keep an exact live count. */
class UsableToyAdapter extends ToyAdapter {
  constructor() {
    super('ok');
  }
  usableSize(p: number): number {
    return this.sizeOf(p);
  }
}

function runInProcess(name: string, adapter: ToyAdapter, rounds = 1, touch: TouchMode = 'full'): WorkerOutcome[] {
  const outs: WorkerOutcome[] = [];
  setTouchMode(touch);
  const def = WORKLOADS.find((w) => w.name === name)!;
  const params = resolveParams(def, 'small');
  const data = new SharedArrayBuffer(Math.max(16, def.dataWords(params, 1) * 4));
  def.initData?.(new Int32Array(data), params, 1);
  const rand = fillRandom(new Uint32Array(RAND_MASK + 1), 7);
  const total = Math.min(rounds, def.rounds(params));
  for (let round = 0; round < total; round++) {
    const ctlSab = createControl();
    const task: WorkerTask = {
      workload: name,
      allocator: { id: 'toy', label: 'toy', family: 'thing' },
      heap: adapter.buffer,
      ctl: ctlSab,
      data,
      worker: 0,
      workers: 1,
      params,
      seed: 7,
      round,
      rounds: total,
      durationMs: 15,
      skipCleanupFrees: false,
      touch,
    };
    const ctl = controlViews(ctlSab);
    outs.push(def.run({ task, adapter, ctl, data: new Int32Array(data), rand, worker: 0, workers: 1, params }));
    expect(Atomics.load(ctl.i32, CTL_I32.stop)).toBe(1);
  }
  return outs;
}

// mleak runs its children as worker_threads (a Node-only workload): its child loop on one
// thread and a damaged block it would adopt are tested in test/lab/mleak.test.ts.
const IN_PROCESS = WORKLOADS.filter((w) => !w.nodeOnly).map((w) => w.name);

describe.each(IN_PROCESS)('%s in-process against a toy allocator', (name) => {
  it('runs clean and frees every block with a correct allocator', () => {
    const toy = new ToyAdapter('ok');
    runInProcess(name, toy, 99);
    expect(toy.liveCount).toBe(0);
  });
});

// cache-* hold one object at a time, so a broken allocator cannot give them two live
// blocks that clash: nothing to detect there. malloc-large runs the very loop of rptest,
// alloc-test and glibc-thread (workloads/replace.ts), which are covered here; with its few
// large blocks it makes too few calls in the window for the toy's every-50th-call faults
// to land reliably.
describe.each(IN_PROCESS.filter((n) => !n.startsWith('cache-') && n !== 'malloc-large'))('%s in-process against a broken toy allocator', (name) => {
  it('fails verification when the allocator hands out overlapping blocks (full touch)', () => {
    expect(() => runInProcess(name, new ToyAdapter('overlap'), 99)).toThrow(VerificationError);
  });
  it('fails verification when the allocator hands a live block out twice (full and sparse touch)', () => {
    expect(() => runInProcess(name, new ToyAdapter('duplicate'), 99)).toThrow(VerificationError);
    expect(() => runInProcess(name, new ToyAdapter('duplicate'), 99, 'sparse')).toThrow(VerificationError);
  });
});

describe('sabmalloc bench argument parsing', () => {
  it('parses lists, params and modes', () => {
    const o = parseBenchArgs(['--quick', '--workers', '1,2,4', '--workloads', 'larson,ring', '--allocators', 'sabmalloc,thing-futex', '--duration', '50', '--reps', '2', '--param', 'larson.slots=100', '--out', '/tmp/x']);
    expect(o.suite).toMatchObject({ quick: true, workers: [1, 2, 4], workloads: ['larson', 'ring'], allocators: ['sabmalloc', 'thing-futex'], durationMs: 50, reps: 2, params: { larson: { slots: 100 } } });
    expect(o.outDir).toBe('/tmp/x');
    // a quick run gets a stem of its own (never overwriting an earlier quick run) unless --name says
    expect(o.stem).toMatch(/^contention-quick-\d{8}-\d{6}$/);
    expect(parseBenchArgs(['--quick', '--name', 'mine']).stem).toBe('mine');
    expect(parseBenchArgs([]).stem).toBe('contention');
    expect(parseBenchArgs(['--no-write']).outDir).toBeNull();
  });
  it('rejects bad arguments', () => {
    expect(() => parseBenchArgs(['--workers', '0'])).toThrow(RangeError);
    expect(() => parseBenchArgs(['--workloads', 'nope'])).toThrow(RangeError);
    expect(() => parseBenchArgs(['--param', 'larson.slots'])).toThrow(RangeError);
    expect(() => parseBenchArgs(['--bogus'])).toThrow();
  });
});

describe('baseline ratio per core received', () => {
  it('divides each run by the cores it got before comparing with the global-lock baseline', async () => {
    const { computeFigures } = await import('../../bench/contention/figures.js');
    const run = (allocator: string, workers: number, throughput: number, coresUsed: number) =>
      ({
        allocator, workload: 'ring', workers, rep: 0, throughput, metric: throughput, coresUsed, otherCores: 0,
        blowup: 1, blowupExclMetadata: 1, metadataBytes: 0, peakCommittedBytes: 0, peakLiveBytes: 0,
        locks: {}, threadCacheHits: 0, threadCacheMisses: 0,
      }) as unknown as import('../../bench/contention/types.js').RunRecord;
    // sabmalloc got 0.4 cores, the baseline 1.0: raw 10M / 4M = 2.5x, per core 25M / 4M = 6.25x
    const figures = computeFigures(
      [run('sabmalloc', 8, 10e6, 0.4), run('global-lock', 8, 4e6, 1.0), run('sabmalloc', 8, 12e6, 0.6), run('global-lock', 8, 4e6, 1.0)],
      ['sabmalloc', 'global-lock'],
    );
    const f = figures.find((x) => x.allocator === 'sabmalloc')!;
    expect(f.ratioToGlobalLock).toBeCloseTo(11 / 4, 6);
    expect(f.ratioToGlobalLockPerCore).toBeCloseTo(22.5 / 4, 6); // median of 25M and 20M per core
    expect(figures.find((x) => x.allocator === 'global-lock')!.ratioToGlobalLockPerCore).toBeNull();
  });
});

describe('mstress live peak', () => {
  it('is exact: the peak of its Atomics live counter equals the peak the allocator saw, over every round', () => {
    // The main thread's samples miss mstress's short peaks (a 128 KB ring block lives about
    // a millisecond); the workload's own counter of usable bytes does not.
    const toy = new UsableToyAdapter();
    const outs = runInProcess('mstress', toy, 4);
    expect(outs.length).toBeGreaterThan(1);
    expect(toy.peakLiveBytes).toBeGreaterThan(0);
    expect(Math.max(...outs.map((o) => o.exactPeakLive ?? -1))).toBe(toy.peakLiveBytes);
    expect(toy.liveBytes).toBe(0);
  });
});

describe('memory sampler', () => {
  it('samples every tick of the timed window, so a live peak of a few ms is seen', async () => {
    const { Sampler } = await import('../../bench/contention/suite.js');
    const { CTL_F64, CTL_I32, PHASE_RUNNING, controlViews, createControl, nowAbs } = await import('../../bench/kit/control.js');
    const ctl = controlViews(createControl());
    ctl.f64[CTL_F64.deadlineAbs] = nowAbs() + 10_000;
    Atomics.store(ctl.i32, CTL_I32.phase, PHASE_RUNNING);
    // live is 100 KiB except from 20 to 80 ms after the start: a peak shorter than the old
    // 100 ms sampling period (which sampled at ~5 ms and ~105 ms and missed it)
    const t0 = performance.now();
    let reads = 0;
    const memory = () => {
      reads++;
      const t = performance.now() - t0;
      return { committed: 600 << 10, live: (t >= 20 && t <= 80 ? 500 : 100) << 10, metadata: 0 };
    };
    const heap = { adapter: { memory } } as unknown as import('../../bench/contention/adapters/types.js').HeapInstance;
    const sampler = new Sampler(heap, ctl);
    while (performance.now() - t0 < 150) await new Promise((r) => setTimeout(r, 5));
    sampler.stop();
    expect(reads).toBeGreaterThan(2);
    expect(sampler.peakLive).toBe(500 << 10);
    expect(sampler.peakCommitted).toBe(600 << 10);
  });
});
