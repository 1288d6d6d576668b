/**
 * `sabmalloc stress`: many workers hammering one heap, every block verified, and a strict
 * audit of the heap at the end of every round.
 *
 * A round:
 *  1. the main thread mallocs a CONTROL block (bench/stress-shared.ts: control words,
 *     per-worker counters, the HAND-OFF array and one LOCAL table per worker);
 *  2. WORK: a fresh piscina pool of `workers` threads; each runs `stress` (seeded from
 *     seed + round + index): malloc / free / realloc / hand-off, verifying every block's
 *     pattern before it is freed or reallocated, and leaves its live blocks in its table;
 *  3. AUDIT (main thread, workers idle): every block named by a table or the hand-off array
 *     must be allocated (else LOST), appear once (else DUPLICATE), not overlap another
 *     (else OVERLAP), carry its pattern (else CORRUPT); the heap's own count of objects in
 *     use must equal the blocks we hold (else LEAK: the heap holds blocks nobody has);
 *     check() must pass while they are live;
 *  4. DRAIN: the same threads free every block, each another worker's (remote frees);
 *  5. the main thread frees the control block, trims, and requires: every worker detached,
 *     check() passes, nothing in use, pageHeapFreeBytes === heapBytes, and the free pages
 *     coalesced into one span.
 * A soak repeats rounds (on the same heap, with fresh workers) until its time is up.
 * Every failure names the block's pointer, size class, who allocated it and who found it.
 *
 * RACING-MISUSE mode (`misuse: true`, runMisuse): instead of correct use, workers misuse
 * the heap on purpose and at the same moment (bench/stress-race.ts): groups of 2..8
 * workers free the same block at once, or race a free against a realloc of it, while a
 * watchdog thread runs check({ quiescent: false }) without pause. It counts the expected
 * typed errors and requires zero undetected races, zero corruption, zero hangs and, at the
 * end, the same clean heap as a normal run.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { SharedHeap, SMALL_MAX, type HeapStats, type LockKind } from '../src/index.js';
import { POOL_EXEC_ARGV } from '../src/pool/heappool.js';
import {
  CW,
  controlLayout,
  controlViews,
  deriveSeed,
  Intent,
  maxSizeOf,
  ownerName,
  prng,
  stampBytes,
  statsBase,
  tokenGen,
  tokenOwner,
  tokenPtr,
  unit,
  verifyStamp,
  WS,
  type ControlViews,
  type SizeMix,
} from './stress-shared.js';
import { OP_COUNT_KEYS, zeroOpCounts, type OpCounts } from './stress-shared.js';
import type { ControlRef, DrainTask, StressFailure, StressTask, WorkCounts } from '../workers/stress-worker.js';
import { describeRace, RACE_SIZES, RC, raceLayout, raceTotals, type RaceCounts, type RaceTotals, type RaceSize, type RaceTask, type WatchdogTask } from './stress-race.js';

export type { StressFailure } from '../workers/stress-worker.js';
export { RACE_SIZES, type RaceSize } from './stress-race.js';

const MiB = 1024 * 1024;

export interface StressOptions {
  /** worker threads (default 64) */
  workers?: number;
  /** operations per worker per round (default 8000 unless durationSec is given) */
  ops?: number;
  /** run each round's work phase for this many seconds instead of a fixed op count */
  durationSec?: number;
  /** size distribution (default 'mixed') */
  sizes?: SizeMix;
  /** fraction of frees that go through the hand-off array (default 0.5) */
  remoteFreeRate?: number;
  /** fraction of operations that are reallocs (default 0.05) */
  reallocRate?: number;
  locks?: { central?: LockKind; pageHeap?: LockKind };
  /** initial heap bytes (default by size mix: small 64 MiB, mixed 256 MiB, large 768 MiB) */
  heapSize?: number;
  /** > heapSize makes the heap growable */
  maxHeapSize?: number;
  /**
   * Grow a growable heap to its maximum from the main thread before the workers start, so
   * no growth happens under concurrency (default false).
   */
  preallocate?: boolean;
  /** run seed (default random); each worker's op sequence derives from seed, round, index */
  seed?: number;
  /** rounds (default 1; a soak runs rounds until its time is up) */
  rounds?: number;
  /** soak: repeat rounds until this many minutes have passed */
  soakMinutes?: number;
  /** blocks each worker may keep (default 32) */
  localCap?: number;
  /** slots of the hand-off array (default 2 x workers) */
  handoffSlots?: number;
  /**
   * Probability that each worker is terminated (worker.terminate()) at a random moment of
   * a round's work; the main thread then calls heap.recover(threadId) (default 0).
   */
  killRate?: number;
  /** a phase that has not finished after this long is a hang (default 120 s + duration) */
  phaseTimeoutMs?: number;
  /**
   * Racing-misuse mode (see runMisuse): `ops` counts phases (default 300), `reallocRate`
   * is the share of free-vs-realloc phases (default 0.5).
   */
  misuse?: boolean;
  /** heap with `debug: true` (default: true in misuse mode, where every size must race exactly) */
  debug?: boolean;
  /** misuse mode: block sizes raced (default every range in a debug heap; large and huge otherwise) */
  raceSizes?: RaceSize[];
  /** misuse mode: widest racing group (default 8; groups of 2..raceWidth workers) */
  raceWidth?: number;
  /** misuse mode: a barrier or check() call that takes longer than this is a hang (default 60 s) */
  hangMs?: number;
  /** called every progressIntervalMs with a snapshot (stderr output is the caller's) */
  onProgress?: (p: StressProgress) => void;
  progressIntervalMs?: number;
}

export interface StressProgress {
  round: number;
  phase: 'start' | 'work' | 'audit' | 'drain' | 'check';
  elapsedMs: number;
  ops: number;
  opsPerSec: number;
  liveBytes: number;
  committedBytes: number;
  workersDone: number;
  workers: number;
}

export interface ResolvedStressOptions {
  workers: number;
  ops: number;
  durationSec: number;
  sizes: SizeMix;
  remoteFreeRate: number;
  reallocRate: number;
  locks: { central: LockKind; pageHeap: LockKind };
  heapSize: number;
  maxHeapSize: number;
  seed: number;
  rounds: number;
  soakMinutes: number;
  preallocate: boolean;
  localCap: number;
  handoffSlots: number;
  killRate: number;
  misuse: boolean;
  debug: boolean;
  raceSizes: RaceSize[];
  raceWidth: number;
  hangMs: number;
}

export interface StressSummary extends OpCounts {
  ok: boolean;
  failures: StressFailure[];
  options: ResolvedStressOptions;
  rounds: number;
  /** wall time of the work phases (what ops/s is measured over) */
  workMs: number;
  elapsedMs: number;
  opsPerSec: number;
  /** largest live bytes seen (sampled while running; exact at each audit) */
  peakLiveBytes: number;
  peakCommittedBytes: number;
  /** blocks live at the audit of the round with the most */
  peakLiveBlocks: number;
  growCount: number;
  heapBytes: number;
  maxHeapBytes: number;
  threadsUsed: number;
  /** workers terminated (kill mode), and of those, how many died attached to the heap */
  kills: number;
  killsMidTask: number;
  /** blocks a killed worker's interrupted operation was about, taken back by the main thread */
  inFlightRecovered: number;
  /** blocks malloc returned to a worker that died before recording them: stay allocated */
  lostToKills: number;
  locks: HeapStats['locks'] | null;
  /** the racing-misuse mode's figures (null in a normal run) */
  misuse: MisuseSummary | null;
  final: {
    checkPassed: boolean;
    inUseObjects: number;
    attachedThreads: number;
    pageHeapFreeBytes: number;
    heapBytes: number;
    pageHeapFreeSpanCount: number;
  } | null;
}

export interface MisuseSummary extends RaceTotals {
  phases: number;
  /** concurrent check({ quiescent: false }) calls of the watchdog, and how many threw */
  watchdogChecks: number;
  watchdogFailures: number;
}

const DEFAULT_HEAP: Record<SizeMix, number> = { small: 64 * MiB, mixed: 256 * MiB, large: 768 * MiB };

export function resolveStressOptions(o: StressOptions = {}): ResolvedStressOptions {
  const int = (v: number | undefined, d: number, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const x = v ?? d;
    if (!Number.isInteger(x) || x < min || x > max) throw new RangeError(`${what} must be an integer from ${min} to ${max}, got ${v}`);
    return x;
  };
  const rate = (v: number | undefined, d: number, what: string): number => {
    const x = v ?? d;
    if (typeof x !== 'number' || !(x >= 0 && x <= 1)) throw new RangeError(`${what} must be a number from 0 to 1, got ${v}`);
    return x;
  };
  const sizes = o.sizes ?? 'mixed';
  if (!['small', 'mixed', 'large'].includes(sizes)) throw new RangeError(`sizes must be small, mixed or large, got ${String(sizes)}`);
  const workers = int(o.workers, 64, 'workers', 1, 4000);
  const durationSec = o.durationSec ?? 0;
  if (typeof durationSec !== 'number' || !(durationSec >= 0)) throw new RangeError(`duration must be >= 0 seconds, got ${o.durationSec}`);
  const heapSize = int(o.heapSize, DEFAULT_HEAP[sizes], 'heap size', MiB, 2 ** 32);
  const maxHeapSize = int(o.maxHeapSize, heapSize, 'max heap size', heapSize, 2 ** 32);
  const soakMinutes = o.soakMinutes ?? 0;
  if (typeof soakMinutes !== 'number' || !(soakMinutes >= 0)) throw new RangeError(`soak must be >= 0 minutes, got ${o.soakMinutes}`);
  return {
    workers,
    ops: int(o.ops, durationSec > 0 ? 0 : o.misuse ? 300 : 8000, 'ops', 0),
    durationSec,
    sizes,
    remoteFreeRate: rate(o.remoteFreeRate, 0.5, 'remote free rate'),
    reallocRate: rate(o.reallocRate, o.misuse ? 0.5 : 0.05, 'realloc rate'),
    locks: { central: o.locks?.central ?? 'ttas', pageHeap: o.locks?.pageHeap ?? 'futex' },
    heapSize,
    maxHeapSize,
    seed: int(o.seed, (Math.random() * 2 ** 32) >>> 0, 'seed', 0, 2 ** 32 - 1),
    rounds: int(o.rounds, 1, 'rounds', 1),
    soakMinutes,
    preallocate: o.preallocate ?? false,
    localCap: int(o.localCap, sizes === 'large' ? 12 : 32, 'local cap', 1, 1 << 16),
    handoffSlots: int(o.handoffSlots, 2 * workers, 'hand-off slots', 1, 1 << 20),
    killRate: rate(o.killRate, 0, 'kill rate'),
    ...resolveMisuse(o),
  };
}

function resolveMisuse(o: StressOptions): Pick<ResolvedStressOptions, 'misuse' | 'debug' | 'raceSizes' | 'raceWidth' | 'hangMs'> {
  const misuse = o.misuse ?? false;
  const debug = o.debug ?? misuse;
  const raceSizes: RaceSize[] = o.raceSizes ?? (debug ? [...RACE_SIZES] : ['large', 'huge']);
  if (raceSizes.length === 0 || raceSizes.some((x) => !RACE_SIZES.includes(x))) {
    throw new RangeError(`race sizes must be some of ${RACE_SIZES.join(', ')}, got ${String(raceSizes)}`);
  }
  const raceWidth = o.raceWidth ?? 8;
  if (!Number.isInteger(raceWidth) || raceWidth < 2 || raceWidth > 64) throw new RangeError(`race width must be an integer from 2 to 64, got ${o.raceWidth}`);
  const hangMs = o.hangMs ?? 60_000;
  if (typeof hangMs !== 'number' || !(hangMs > 0)) throw new RangeError(`hang bound must be > 0 ms, got ${o.hangMs}`);
  if (misuse && (o.workers ?? 64) < 2) throw new RangeError('the racing-misuse mode needs at least 2 workers');
  if (misuse && (o.killRate ?? 0) > 0) throw new RangeError('the racing-misuse mode does not kill workers');
  return { misuse, debug, raceSizes, raceWidth, hangMs };
}

/** dist/workers/stress-worker.js of this package, from src (vitest) or dist. */
export function stressWorkerUrl(): URL {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the package root from ' + import.meta.url);
    dir = up;
  }
  const file = join(dir, 'dist', 'workers', 'stress-worker.js');
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return new URL(`file://${file}`);
}

class PhaseTimeout extends Error {}

async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PhaseTimeout(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

function sizeClassName(heap: SharedHeap, usable: number | undefined): string {
  if (usable === undefined) return 'unknown';
  if (usable > SMALL_MAX) return `large (${usable / heap.layout.pageSize} pages)`;
  return `class ${heap.sizeClasses.classOf[(usable + 15) >>> 4]} (${usable} B)`;
}

interface Held {
  token: bigint;
  p: number;
  where: string;
  usable: number;
}

/**
 * Audit with the workers idle: every held block allocated, unique, disjoint, intact; the
 * heap's count of objects in use equals what we hold (+ the control block).
 */
export function audit(
  heap: SharedHeap,
  cv: ControlViews,
  salt: number,
  round: number,
  failures: StressFailure[],
  /** blocks the heap may hold that nobody has (lost to killed workers) */
  untrackedAllowed = 0,
): { blocks: number; bytes: number; untracked: number } {
  const seenBy = `the audit of round ${round}`;
  const held: Held[] = [];
  const add = (token: bigint, where: string): void => {
    const p = tokenPtr(token);
    let usable: number;
    try {
      usable = heap.usableSize(p);
    } catch (e) {
      failures.push({
        kind: 'lost',
        pointer: p,
        sizeClass: 'unknown',
        allocatedBy: `${ownerName(tokenOwner(token))} (gen ${tokenGen(token)})`,
        seenBy,
        detail: `held in ${where}, but the heap does not know it as allocated: ${(e as Error).message}`,
      });
      return;
    }
    held.push({ token, p, where, usable });
  };
  for (const h of heldTokens(cv)) add(h.token, h.where);
  held.sort((a, b) => a.p - b.p);
  const u32 = new Uint32Array(heap.buffer, 0, heap.buffer.byteLength >>> 2);
  let bytes = 0;
  for (let i = 0; i < held.length; i++) {
    const h = held[i]!;
    bytes += h.usable;
    const by = `${ownerName(tokenOwner(h.token))} (gen ${tokenGen(h.token)})`;
    const prev = i > 0 ? held[i - 1]! : undefined;
    if (prev !== undefined && prev.p === h.p) {
      failures.push({
        kind: 'duplicate',
        pointer: h.p,
        sizeClass: sizeClassName(heap, h.usable),
        allocatedBy: `${by} and ${ownerName(tokenOwner(prev.token))} (gen ${tokenGen(prev.token)})`,
        seenBy,
        detail: `the same block is held in ${prev.where} and in ${h.where}`,
      });
      continue;
    }
    if (prev !== undefined && prev.p + prev.usable > h.p) {
      failures.push({
        kind: 'overlap',
        pointer: h.p,
        sizeClass: sizeClassName(heap, h.usable),
        allocatedBy: `${by}; the other by ${ownerName(tokenOwner(prev.token))} (gen ${tokenGen(prev.token)})`,
        seenBy,
        detail: `[${h.p}, +${h.usable}) in ${h.where} overlaps [${prev.p}, +${prev.usable}) in ${prev.where}`,
      });
    }
    const requested = u32[(h.p >>> 2) + 3]!;
    const bad =
      requested < 1 || stampBytes(requested) > h.usable
        ? `requested-size word ${requested} is not in [1, ${h.usable}]`
        : verifyStamp(u32, h.p, { p: h.p, gen: tokenGen(h.token), owner: tokenOwner(h.token), requested }, salt);
    if (bad !== null) {
      failures.push({ kind: 'corrupt', pointer: h.p, sizeClass: sizeClassName(heap, h.usable), allocatedBy: by, seenBy, detail: `held in ${h.where}: ${bad}` });
    }
  }
  const s = heap.stats();
  const untracked = s.inUseObjects - held.length - 1;
  if (untracked < 0 || untracked > untrackedAllowed) {
    failures.push({
      kind: 'leak',
      seenBy,
      detail:
        `the heap counts ${s.inUseObjects} objects in use, the workers hold ${held.length} blocks (+1 control block)` +
        (untrackedAllowed > 0 ? `; at most ${untrackedAllowed} may be lost to killed workers` : ''),
    });
  }
  try {
    heap.check();
  } catch (e) {
    failures.push({ kind: 'check', seenBy, detail: `check() with ${held.length} blocks live: ${(e as Error).message}` });
  }
  return { blocks: held.length, bytes, untracked };
}

/** Every block named by a LOCAL table or the HAND-OFF array, with where it is. */
export function heldTokens(cv: ControlViews): { token: bigint; where: string }[] {
  const L = cv.layout;
  const out: { token: bigint; where: string }[] = [];
  for (let w = 0; w < L.workers; w++) {
    for (let k = 0; k < L.localCap; k++) {
      const t = cv.local[w * L.localCap + k]!;
      if (t !== 0n) out.push({ token: t, where: `the table of worker ${w}` });
    }
  }
  for (let k = 0; k < L.handoffSlots; k++) {
    const t = cv.handoff[k]!;
    if (t !== 0n) out.push({ token: t, where: `hand-off slot ${k}` });
  }
  return out;
}

/**
 * Main thread, workers idle: verifies and frees every block named by a LOCAL table or the
 * HAND-OFF array, emptying them. Returns the problems (corrupt or lost blocks).
 */
export function freeHeld(heap: SharedHeap, cv: ControlViews, salt: number, seenBy: string): StressFailure[] {
  const failures: StressFailure[] = [];
  for (const { token, where } of heldTokens(cv)) {
    const p = tokenPtr(token);
    const by = `${ownerName(tokenOwner(token))} (gen ${tokenGen(token)})`;
    let usable: number;
    try {
      usable = heap.usableSize(p);
    } catch (e) {
      failures.push({ kind: 'lost', pointer: p, sizeClass: 'unknown', allocatedBy: by, seenBy, detail: `held in ${where}: ${(e as Error).message}` });
      continue;
    }
    const u32 = new Uint32Array(heap.buffer, 0, heap.buffer.byteLength >>> 2);
    const requested = u32[(p >>> 2) + 3]!;
    const bad =
      requested < 1 || stampBytes(requested) > usable
        ? `requested-size word ${requested} is not in [1, ${usable}]`
        : verifyStamp(u32, p, { p, gen: tokenGen(token), owner: tokenOwner(token), requested }, salt);
    if (bad !== null) {
      failures.push({ kind: 'corrupt', pointer: p, sizeClass: sizeClassName(heap, usable), allocatedBy: by, seenBy, detail: `held in ${where}: ${bad}` });
      continue;
    }
    heap.free(p);
  }
  cv.local.fill(0n);
  cv.handoff.fill(0n);
  return failures;
}

/**
 * After worker w died (and heap.recover() ran), with every other worker idle: the blocks
 * its interrupted operation was about that are still allocated and held by nobody (a
 * malloc that returned, a free or hand-off that had not happened yet, a realloc's old or
 * new block). The worker writes its intent before every change to its table, so at most
 * one block of a killed worker can be lost to the bookkeeping: one that malloc (or
 * realloc) returned before the worker could record it.
 */
export function inFlightBlocks(heap: SharedHeap, cv: ControlViews, w: number, salt: number): number[] {
  const f = cv.f64;
  const b = statsBase(w);
  const op = f[b + WS.INTENT_OP]!;
  if (op === Intent.NONE) return [];
  const held = new Set(heldTokens(cv).map((h) => tokenPtr(h.token)));
  const allocated = (p: number): boolean => {
    if (p === 0 || held.has(p)) return false;
    try {
      heap.usableSize(p);
      return true;
    } catch {
      return false;
    }
  };
  const out: number[] = [];
  const ptr = f[b + WS.INTENT_PTR]!;
  const token = BigInt(f[b + WS.INTENT_TOKEN_LO]!) | (BigInt(f[b + WS.INTENT_TOKEN_HI]!) << 32n);
  const tp = token === 0n ? 0 : tokenPtr(token);
  // The block the op started from: still ours if still allocated with our stamp.
  if (tp !== 0 && allocated(tp)) {
    const u32 = new Uint32Array(heap.buffer, 0, heap.buffer.byteLength >>> 2);
    const requested = u32[(tp >>> 2) + 3]!;
    const s = { p: tp, gen: tokenGen(token), owner: tokenOwner(token), requested };
    if (requested >= 1 && stampBytes(requested) <= heap.usableSize(tp) && verifyStamp(u32, tp, s, salt) === null) out.push(tp);
  }
  // A block malloc or realloc returned: allocated, and nobody else can know it.
  if ((op === Intent.MALLOC || op === Intent.REALLOC) && ptr !== tp && allocated(ptr)) out.push(ptr);
  return out;
}

/** Runs the stress test; never throws for a heap problem (see `failures`). */
export async function runStress(options: StressOptions = {}): Promise<StressSummary> {
  const o = resolveStressOptions(options);
  const url = stressWorkerUrl();
  const started = Date.now();
  const heap = SharedHeap.create({
    size: o.heapSize,
    maxSize: o.maxHeapSize,
    locks: o.locks,
    maxThreads: Math.max(128, o.workers + 8),
    debug: o.debug,
  });
  const summary = emptySummary(o, heap);
  const failures = summary.failures;
  if (o.preallocate && o.maxHeapSize > o.heapSize) {
    const big = heap.malloc(o.maxHeapSize - o.heapSize);
    heap.free(big);
  }
  if (o.misuse) return runMisuse(heap, o, options, summary, started, url);
  const threads = new Set<number>();
  const layout = controlLayout(o.workers, o.handoffSlots, o.localCap);
  const heapBytes = heap.stats().heapBytes;
  // Each worker keeps at most its share of half the heap (the hand-off array holds more).
  const liveBudget = Math.max(maxSizeOf(o.sizes), Math.floor((heapBytes * 0.4) / o.workers));
  const phaseTimeout = options.phaseTimeoutMs ?? 120_000 + o.durationSec * 1000;
  let healthy = true; // false once a hang leaves threads killed mid-operation

  for (let round = 0; healthy; round++) {
    if (o.soakMinutes > 0 ? Date.now() - started >= o.soakMinutes * 60_000 && round > 0 : round >= o.rounds) break;
    const salt = deriveSeed(o.seed, round, 0xfffff);
    const ctrl = heap.malloc(layout.bytes);
    new Uint8Array(heap.buffer, ctrl, layout.bytes).fill(0);
    const cv = controlViews(heap.buffer, ctrl, layout);
    cv.i32[CW.WORKERS] = o.workers;
    cv.i32[CW.HANDOFF] = o.handoffSlots;
    cv.i32[CW.LOCAL_CAP] = o.localCap;
    const ref: ControlRef = { buffer: heap.buffer, ctrl, workers: o.workers, handoffSlots: o.handoffSlots, localCap: o.localCap, salt };

    const pool = new Piscina({
      filename: url.href,
      execArgv: [...POOL_EXEC_ARGV], // see heappool.ts: piscina start-up on Node 20.19+
      minThreads: o.workers,
      maxThreads: o.workers,
      concurrentTasksPerWorker: 1,
      idleTimeout: 600_000,
      maxQueue: 'auto',
    });
    let phase: StressProgress['phase'] = 'start';
    let workStart = Date.now();
    let opsBefore = summary.ops;
    const sample = (): StressProgress => {
      let ops = 0;
      let live = 0;
      let done = 0;
      for (let w = 0; w < o.workers; w++) {
        const b = statsBase(w);
        ops += cv.f64[b + WS.OPS]!;
        live += cv.f64[b + WS.LIVE_BYTES]!;
        done += cv.f64[b + WS.DONE]!;
      }
      if (phase === 'work') summary.peakLiveBytes = Math.max(summary.peakLiveBytes, live + layout.bytes);
      // What the heap made resident (touched pages + metadata), not the buffer: it reserves maxSize.
      const committed = heap.stats().committedBytes;
      summary.peakCommittedBytes = Math.max(summary.peakCommittedBytes, committed);
      const workMs = phase === 'work' ? Date.now() - workStart : 0;
      return {
        round,
        phase,
        elapsedMs: Date.now() - started,
        ops: opsBefore + ops,
        opsPerSec: workMs > 0 ? ops / (workMs / 1000) : 0,
        liveBytes: live,
        committedBytes: committed,
        workersDone: done,
        workers: o.workers,
      };
    };
    const timer = setInterval(() => {
      const p = sample();
      options.onProgress?.(p);
    }, options.progressIntervalMs ?? 1000);
    try {
      // WORK
      phase = 'work';
      workStart = Date.now();
      opsBefore = summary.ops;
      const deadline = o.durationSec > 0 ? workStart + o.durationSec * 1000 : 0;
      const tasks: Promise<WorkCounts | null>[] = [];
      const killer = startKiller(pool, heap, cv, o, round, workStart, summary);
      for (let w = 0; w < o.workers; w++) {
        const t: StressTask = {
          ...ref,
          worker: w,
          ops: o.ops,
          deadline,
          seed: deriveSeed(o.seed, round, w),
          sizes: o.sizes,
          remoteFreeRate: o.remoteFreeRate,
          reallocRate: o.reallocRate,
          liveBudget,
        };
        tasks.push(pool.run(t, { name: 'stress' }).catch((e: unknown) => (killer.killed.has(w) ? null : Promise.reject(e))));
      }
      const worked = await settle(tasks, phaseTimeout, `round ${round} work phase`, cv, failures);
      const killed = await killer.stop();
      summary.workMs += Date.now() - workStart;
      sample();
      for (const c of worked) account(summary, c, threads, failures);
      if (worked.length + killed.size < o.workers) {
        healthy = false;
        break;
      }
      // The killed workers' interrupted operations: blocks still allocated that nobody holds.
      for (const w of killed) {
        summary.ops += cv.f64[statsBase(w) + WS.OPS]!;
        for (const p of inFlightBlocks(heap, cv, w, salt)) {
          heap.free(p);
          summary.inFlightRecovered++;
        }
      }

      // AUDIT
      phase = 'audit';
      const a = audit(heap, cv, salt, round, failures, summary.lostToKills + killed.size);
      summary.lostToKills += Math.max(0, a.untracked - summary.lostToKills);
      summary.peakLiveBlocks = Math.max(summary.peakLiveBlocks, a.blocks);
      summary.peakLiveBytes = Math.max(summary.peakLiveBytes, a.bytes + heap.usableSize(ctrl));
      if (failures.length > 0) break;

      // DRAIN: worker w empties the table of worker w + 1 and a slice of the hand-off array.
      phase = 'drain';
      for (let w = 0; w < o.workers; w++) cv.f64[statsBase(w) + WS.DONE] = 0;
      const per = Math.ceil(o.handoffSlots / o.workers);
      const drains: Promise<WorkCounts>[] = [];
      for (let w = 0; w < o.workers; w++) {
        const t: DrainTask = {
          ...ref,
          worker: w,
          tables: [(w + 1) % o.workers],
          handoffFrom: Math.min(o.handoffSlots, w * per),
          handoffTo: Math.min(o.handoffSlots, (w + 1) * per),
        };
        drains.push(pool.run(t, { name: 'drain' }));
      }
      const drained = await settle(drains, phaseTimeout, `round ${round} drain phase`, cv, failures);
      for (const c of drained) account(summary, c, threads, failures, true);
      if (drained.length < o.workers) {
        healthy = false;
        break;
      }
      if (failures.length > 0) break;

      // CHECK
      phase = 'check';
      heap.free(ctrl);
      heap.trim();
      const fin = finalState(heap, failures, `the end of round ${round}`, summary.lostToKills);
      summary.final = fin;
      summary.rounds++;
      if (failures.length > 0) break;
      options.onProgress?.(sample());
    } catch (e) {
      failures.push({ kind: 'error', seenBy: 'the main thread', detail: `round ${round}: ${(e as Error).stack ?? String(e)}` });
      break;
    } finally {
      clearInterval(timer);
      await pool.destroy();
    }
  }

  summary.elapsedMs = Date.now() - started;
  summary.opsPerSec = summary.workMs > 0 ? summary.ops / (summary.workMs / 1000) : 0;
  summary.threadsUsed = threads.size;
  if (healthy) {
    const s = heap.stats();
    summary.locks = s.locks;
    summary.growCount = s.growCount;
    summary.heapBytes = s.heapBytes;
    summary.maxHeapBytes = s.maxHeapBytes;
  }
  summary.ok = failures.length === 0 && summary.rounds > 0;
  if (healthy) heap.detach();
  return summary;
}

function emptySummary(o: ResolvedStressOptions, heap: SharedHeap): StressSummary {
  return {
    ok: false,
    failures: [],
    options: o,
    rounds: 0,
    ...zeroOpCounts(),
    workMs: 0,
    elapsedMs: 0,
    opsPerSec: 0,
    peakLiveBytes: 0,
    peakCommittedBytes: heap.stats().committedBytes,
    peakLiveBlocks: 0,
    growCount: 0,
    heapBytes: 0,
    maxHeapBytes: 0,
    threadsUsed: 0,
    kills: 0,
    killsMidTask: 0,
    inFlightRecovered: 0,
    lostToKills: 0,
    locks: null,
    misuse: null,
    final: null,
  };
}

/**
 * The racing-misuse mode: `workers` racers (bench/stress-race.ts race) in lock-step
 * phases for `ops` phases (or `durationSec`), and one watchdog thread running
 * check({ quiescent: false }) all along. The main thread supervises: a racer pool that
 * does not finish, or a watchdog whose check() call does not return, within the bounds is
 * a hang (then the heap may be wedged and the end checks are skipped). Afterwards the heap
 * must be what a normal run leaves: check() passes, nothing in use, every page free in
 * one span, only the main thread attached.
 */
async function runMisuse(
  heap: SharedHeap,
  o: ResolvedStressOptions,
  options: StressOptions,
  summary: StressSummary,
  started: number,
  url: URL,
): Promise<StressSummary> {
  const failures = summary.failures;
  const m: MisuseSummary = {
    phases: 0,
    freeFree: 0,
    freeRealloc: 0,
    byWidth: {},
    bySize: {},
    succeeded: 0,
    typedErrors: {},
    undetected: 0,
    refused: 0,
    corruption: 0,
    hangs: 0,
    unexpected: 0,
    churned: 0,
    oom: 0,
    watchdogChecks: 0,
    watchdogFailures: 0,
  };
  summary.misuse = m;
  const control = new SharedArrayBuffer(raceLayout(o.workers, o.raceWidth).words * 4);
  const rc = new Int32Array(control);
  const salt = deriveSeed(o.seed, 0, 0xfffff);
  const deadline = o.durationSec > 0 ? Date.now() + o.durationSec * 1000 : 0;
  const phaseTimeout = options.phaseTimeoutMs ?? 120_000 + o.durationSec * 1000 + o.ops * 200;
  const common = { execArgv: [...POOL_EXEC_ARGV], filename: url.href, concurrentTasksPerWorker: 1, idleTimeout: 600_000, maxQueue: 'auto' as const };
  const racers = new Piscina({ ...common, minThreads: o.workers, maxThreads: o.workers });
  const dogPool = new Piscina({ ...common, minThreads: 1, maxThreads: 1 });
  // Failures arrive as they happen (a run that hangs still reports everything before).
  const channelName = `sabmalloc-race-${process.pid}-${started}-${o.seed}`;
  const channel = new BroadcastChannel(channelName);
  channel.onmessage = (e: MessageEvent) => {
    failures.push(e.data as StressFailure);
  };
  const dogTask: WatchdogTask = { heap: heap.buffer, control, pauseMs: 1, channel: channelName };
  const dog = dogPool.run(dogTask, { name: 'watchdog' }) as Promise<{ threadId: number }>;
  // The watchdog's check() calls must keep returning: a call that does not within hangMs is a hang.
  let lastBeat = -1;
  let lastBeatAt = Date.now();
  let dogHung = false;
  const dogTimer = setInterval(() => {
    const beat = Atomics.load(rc, RC.WD_BEAT);
    if (beat !== lastBeat) {
      lastBeat = beat;
      lastBeatAt = Date.now();
    } else if (!dogHung && Atomics.load(rc, RC.WD_BUSY) === 1 && Date.now() - lastBeatAt > o.hangMs) {
      dogHung = true;
      m.hangs++;
      failures.push({
        kind: 'hang',
        seenBy: 'the main thread',
        detail: `a concurrent check({ quiescent: false }) did not return within ${o.hangMs} ms; racers at ${describeRace(control, o.workers, o.raceWidth)}`,
      });
      Atomics.store(rc, RC.ABORT, 1);
      Atomics.notify(rc, RC.BAR_GEN);
    }
    options.onProgress?.({
      round: 0,
      phase: 'work',
      elapsedMs: Date.now() - started,
      ops: Atomics.load(rc, RC.PHASE_NO),
      opsPerSec: 0,
      liveBytes: 0,
      committedBytes: heap.stats().committedBytes,
      workersDone: 0,
      workers: o.workers,
    });
  }, options.progressIntervalMs ?? 1000);
  let healthy = true;
  const workStart = Date.now();
  try {
    const tasks: Promise<RaceCounts>[] = [];
    for (let w = 0; w < o.workers; w++) {
      const t: RaceTask = {
        heap: heap.buffer,
        control,
        worker: w,
        workers: o.workers,
        maxWidth: o.raceWidth,
        phases: o.ops,
        deadline,
        seed: deriveSeed(o.seed, 0, w),
        salt,
        sizes: o.raceSizes,
        reallocShare: o.reallocRate,
        hangMs: o.hangMs,
        channel: channelName,
      };
      tasks.push(racers.run(t, { name: 'race' }) as Promise<RaceCounts>);
    }
    let stopped = false;
    const settled = await boundedSettle(tasks, phaseTimeout, () => {
      stopped = true;
      Atomics.store(rc, RC.STOP, 1);
    });
    summary.workMs = Date.now() - workStart;
    if (stopped && settled !== null) {
      m.hangs++;
      failures.push({ kind: 'hang', seenBy: 'the main thread', detail: `the racers needed a STOP after ${phaseTimeout} ms (progress too slow or stuck)` });
    }
    if (settled === null) {
      m.hangs++;
      failures.push({
        kind: 'hang',
        seenBy: 'the main thread',
        detail: `the racers did not finish within ${phaseTimeout} ms (nor 10 s after STOP): ${describeRace(control, o.workers, o.raceWidth)}`,
      });
      m.phases = Atomics.load(rc, RC.PHASE_NO);
      healthy = false;
    } else {
      const threads = new Set<number>();
      for (const r of settled) {
        if (r.status === 'rejected') {
          m.unexpected++;
          failures.push({ kind: 'error', seenBy: 'a racer', detail: `task failed: ${(r.reason as Error)?.stack ?? String(r.reason)}` });
          continue;
        }
        threads.add(r.value.threadId);
        if (r.value.worker === 0) m.phases = r.value.phases;
      }
      summary.threadsUsed = threads.size;
      if (m.hangs > 0) healthy = false;
    }
  } finally {
    Atomics.store(rc, RC.WD_STOP, 1);
    Atomics.notify(rc, RC.WD_STOP);
    const watched = await boundedSettle([dog], dogHung ? 1_000 : o.hangMs, () => undefined);
    clearInterval(dogTimer);
    const d = watched?.[0];
    if (d?.status !== 'fulfilled') {
      healthy = false;
      if (!dogHung) {
        m.hangs++;
        failures.push({ kind: 'hang', seenBy: 'the main thread', detail: `the watchdog did not stop: ${d?.status === 'rejected' ? String(d.reason) : 'its check() never returned'}` });
      }
    }
    await Promise.all([racers.destroy(), dogPool.destroy()]);
    // Let the last posted failures arrive, then take the counts.
    await new Promise((r) => setTimeout(r, 50));
    channel.close();
    const hangs = m.hangs;
    Object.assign(m, raceTotals(control));
    m.hangs += hangs;
    m.watchdogChecks = Atomics.load(rc, RC.WD_BEAT);
    m.watchdogFailures = Atomics.load(rc, RC.WD_FAILED);
  }
  summary.ops = m.phases;
  summary.rounds = 1;
  if (healthy) {
    heap.trim();
    const fin = finalState(heap, failures, 'the end of the racing-misuse run');
    if (!fin.checkPassed) m.corruption++;
    summary.final = fin;
    const s = heap.stats();
    summary.locks = s.locks;
    summary.growCount = s.growCount;
    summary.heapBytes = s.heapBytes;
    summary.maxHeapBytes = s.maxHeapBytes;
    heap.detach();
  }
  summary.elapsedMs = Date.now() - started;
  summary.ok = failures.length === 0;
  return summary;
}

/** allSettled within ms; else `stop()`, 10 s more; null if still not settled. */
async function boundedSettle<T>(tasks: Promise<T>[], ms: number, stop: () => void): Promise<PromiseSettledResult<T>[] | null> {
  const all = Promise.allSettled(tasks);
  try {
    return await bounded(all, ms, 'tasks');
  } catch (e) {
    if (!(e instanceof PhaseTimeout)) throw e;
    stop();
    try {
      return await bounded(all, 10_000, 'tasks');
    } catch {
      return null;
    }
  }
}

interface Killer {
  /** workers terminated so far (their task's rejection is expected) */
  readonly killed: Set<number>;
  /** stops killing, waits for the recoveries; returns the killed workers */
  stop(): Promise<Set<number>>;
}

/**
 * Kill mode: each worker is, with probability killRate, terminated once it has done a
 * random number of its operations (or at a random moment of the duration); when it has
 * exited, the main thread calls heap.recover(its threadId).
 */
function startKiller(
  pool: Piscina,
  heap: SharedHeap,
  cv: ControlViews,
  o: ResolvedStressOptions,
  round: number,
  workStart: number,
  summary: StressSummary,
): Killer {
  const killed = new Set<number>();
  if (o.killRate === 0) return { killed, stop: async () => killed };
  const rnd = prng(deriveSeed(o.seed, round, 0xdead));
  const due = new Map<number, { ops: number; at: number }>();
  for (let w = 0; w < o.workers; w++) {
    if (unit(rnd) >= o.killRate) continue;
    due.set(w, o.ops > 0 ? { ops: rnd() % o.ops, at: 0 } : { ops: 0, at: workStart + unit(rnd) * o.durationSec * 1000 });
  }
  const recoveries: Promise<void>[] = [];
  const timer = setInterval(() => {
    for (const [w, d] of due) {
      const b = statsBase(w);
      const tid = cv.f64[b + WS.THREAD_ID]!;
      if (cv.f64[b + WS.DONE] === 1 && tid !== 0) {
        due.delete(w); // finished before its moment came
        continue;
      }
      if (tid === 0 || cv.f64[b + WS.OPS]! < d.ops || Date.now() < d.at) continue;
      const worker = pool.threads.find((t) => t.threadId === tid);
      if (worker === undefined) continue;
      due.delete(w);
      killed.add(w);
      summary.kills++;
      recoveries.push(
        worker.terminate().then(() => {
          if (heap.recover(tid).slots.length > 0) summary.killsMidTask++;
        }),
      );
    }
  }, 2);
  return {
    killed,
    stop: async () => {
      clearInterval(timer);
      await Promise.all(recoveries);
      return killed;
    },
  };
}

function account(summary: StressSummary, c: WorkCounts, threads: Set<number>, failures: StressFailure[], drain = false): void {
  for (const k of OP_COUNT_KEYS) if (k !== 'ops' || !drain) summary[k] += c[k];
  threads.add(c.threadId);
  failures.push(...c.failures);
}

/** Waits for every task, bounded; a hang raises STOP, waits a little more, then gives up. */
async function settle(tasks: Promise<WorkCounts | null>[], ms: number, what: string, cv: ControlViews, failures: StressFailure[]): Promise<WorkCounts[]> {
  const all = Promise.allSettled(tasks);
  let results: PromiseSettledResult<WorkCounts | null>[];
  try {
    results = await bounded(all, ms, what);
  } catch (e) {
    if (!(e instanceof PhaseTimeout)) throw e;
    Atomics.store(cv.i32, CW.STOP, 1);
    try {
      results = await bounded(all, 10_000, what);
      failures.push({ kind: 'hang', seenBy: 'the main thread', detail: `${what} needed a STOP after ${ms} ms (progress too slow or stuck)` });
    } catch {
      const stuck: number[] = [];
      for (let w = 0; w < cv.layout.workers; w++) if (cv.f64[statsBase(w) + WS.DONE] !== 1) stuck.push(w);
      failures.push({
        kind: 'hang',
        seenBy: 'the main thread',
        detail: `${what} did not finish within ${ms} ms, nor 10 s after STOP; workers not done: ${stuck.slice(0, 20).join(', ')}${stuck.length > 20 ? ', ...' : ''}`,
      });
      return [];
    }
  }
  const ok: WorkCounts[] = [];
  for (const r of results) {
    if (r.status === 'fulfilled') {
      if (r.value !== null) ok.push(r.value);
    }
    else failures.push({ kind: 'error', seenBy: 'a worker', detail: `task failed: ${(r.reason as Error)?.stack ?? String(r.reason)}` });
  }
  return ok;
}

/** The end-of-round requirements; returns the figures, pushes failures. */
function finalState(heap: SharedHeap, failures: StressFailure[], when: string, lost = 0): NonNullable<StressSummary['final']> {
  let checkPassed = true;
  try {
    heap.check();
  } catch (e) {
    checkPassed = false;
    failures.push({ kind: 'check', seenBy: 'the main thread', detail: `check() at ${when}: ${(e as Error).message}` });
  }
  const s = heap.stats();
  const fin = {
    checkPassed,
    inUseObjects: s.inUseObjects,
    attachedThreads: s.attachedThreads,
    pageHeapFreeBytes: s.pageHeapFreeBytes,
    heapBytes: s.heapBytes,
    pageHeapFreeSpanCount: s.pageHeapFreeSpanCount,
  };
  const problems: string[] = [];
  if (fin.attachedThreads !== 1) problems.push(`${fin.attachedThreads} threads attached (only the main thread should be)`);
  if (fin.inUseObjects !== lost) {
    problems.push(`${fin.inUseObjects} objects still in use (${s.inUseBytes} bytes)${lost > 0 ? `, ${lost} of them lost to killed workers` : ''}`);
  }
  // Blocks lost to killed workers stay allocated: then the pages cannot all be free.
  if (lost === 0 && fin.pageHeapFreeBytes !== fin.heapBytes) {
    problems.push(
      `page heap holds ${fin.pageHeapFreeBytes} of ${fin.heapBytes} bytes free (central ${s.centralCacheFreeBytes} B, ` +
        `transfer ${s.transferCacheFreeBytes} B, thread caches ${s.threadCacheFreeBytes} B, small spans ${s.smallSpanBytes} B, large ${s.largeBytes} B)`,
    );
  }
  if (lost === 0 && fin.pageHeapFreeSpanCount !== 1) {
    problems.push(`free pages in ${fin.pageHeapFreeSpanCount} spans, not coalesced into 1: ${JSON.stringify(s.pageHeapFreeSpans)}`);
  }
  if (problems.length > 0) failures.push({ kind: 'leak', seenBy: 'the main thread', detail: `at ${when}: ${problems.join('; ')}` });
  return fin;
}

// ------------------------------------------------------------------- formatting

function fmtBytes(n: number): string {
  if (Math.abs(n) >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (Math.abs(n) >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatProgress(p: StressProgress): string {
  return (
    `[stress] round ${p.round} ${p.phase.padEnd(5)} ${(p.elapsedMs / 1000).toFixed(1)} s | ops ${fmtInt(p.ops)}` +
    (p.opsPerSec > 0 ? ` (${fmtInt(p.opsPerSec)}/s)` : '') +
    ` | live ${fmtBytes(p.liveBytes)} | committed ${fmtBytes(p.committedBytes)} | workers done ${p.workersDone}/${p.workers}`
  );
}

export function formatFailure(f: StressFailure): string {
  const parts = [f.kind.toUpperCase()];
  if (f.pointer !== undefined) parts.push(`block ${f.pointer} (0x${f.pointer.toString(16)})`);
  if (f.sizeClass !== undefined) parts.push(f.sizeClass);
  if (f.allocatedBy !== undefined) parts.push(`allocated by ${f.allocatedBy}`);
  parts.push(`found by ${f.seenBy}`);
  return `${parts.join(', ')}: ${f.detail}`;
}

/** The summary as text lines (for the terminal and for bench/results/stress.md). */
export function formatSummary(s: StressSummary): string[] {
  const o = s.options;
  const lines: string[] = [];
  lines.push(`result: ${s.ok ? 'OK, zero failures' : `FAILED, ${s.failures.length} failure(s)`}`);
  lines.push(
    `workers ${o.workers}, ${o.durationSec > 0 ? `${o.durationSec} s` : `${fmtInt(o.ops)} ops`} per worker per round, sizes ${o.sizes}, ` +
      `remote-free rate ${o.remoteFreeRate}, realloc rate ${o.reallocRate}, locks central=${o.locks.central} pageHeap=${o.locks.pageHeap}, ` +
      `heap ${fmtBytes(o.heapSize)}${o.maxHeapSize > o.heapSize ? ` growable to ${fmtBytes(o.maxHeapSize)}${o.preallocate ? ' (grown before the workers start)' : ''}` : ' fixed'}, seed ${o.seed}` +
      (o.soakMinutes > 0 ? `, soak ${o.soakMinutes} min` : ''),
  );
  if (s.misuse) {
    lines.push(...formatMisuse(s));
  } else {
    lines.push(`rounds ${s.rounds}, threads used ${s.threadsUsed}, elapsed ${(s.elapsedMs / 1000).toFixed(1)} s (work phases ${(s.workMs / 1000).toFixed(1)} s)`);
    lines.push(...formatOps(s));
  }
  if (o.killRate > 0) {
    lines.push(
      `kill rate ${o.killRate}: ${s.kills} workers terminated (${s.killsMidTask} while attached, each followed by heap.recover), ` +
        `${s.inFlightRecovered} in-flight blocks taken back, ${s.lostToKills} lost (malloc returned, the worker died before recording it)`,
    );
  }
  if (s.locks) {
    for (const [tier, l] of Object.entries(s.locks)) {
      if (l.kind === 'none') continue;
      const r = l as unknown as Record<string, unknown>;
      const keys = ['acquisitions', 'contended', 'spins', 'parks', 'wakeups', 'handoffs'].filter((k) => typeof r[k] === 'number');
      const extra = Object.entries(r)
        .filter(([k, v]) => !keys.includes(k) && k !== 'kind' && typeof v === 'number')
        .map(([k, v]) => `${k} ${fmtStat(v as number)}`);
      lines.push(`lock ${tier} (${l.kind}): ${[...keys.map((k) => `${k} ${fmtStat(r[k] as number)}`), ...extra].join(', ')}`);
    }
  }
  if (s.final) {
    const f = s.final;
    lines.push(
      `end: check() ${f.checkPassed ? 'passed' : 'FAILED'}, in use ${f.inUseObjects} objects, attached threads ${f.attachedThreads}, ` +
        `page heap free ${fmtBytes(f.pageHeapFreeBytes)} of ${fmtBytes(f.heapBytes)} in ${f.pageHeapFreeSpanCount} span(s)`,
    );
  }
  for (const f of s.failures.slice(0, 20)) lines.push(`  ${formatFailure(f)}`);
  if (s.failures.length > 20) lines.push(`  ... and ${s.failures.length - 20} more`);
  return lines;
}

function formatOps(s: StressSummary): string[] {
  const out: string[] = [];
  out.push(
    `ops ${fmtInt(s.ops)} (${fmtInt(s.opsPerSec)} ops/s during work): mallocs ${fmtInt(s.allocs)}, frees ${fmtInt(s.frees)} ` +
      `(remote ${fmtInt(s.remoteFrees)}), reallocs ${fmtInt(s.reallocs)}, hand-offs ${fmtInt(s.handoffs)}, out-of-memory ${fmtInt(s.oom)}, ` +
      `bytes allocated ${fmtBytes(s.bytesAllocated)}`,
  );
  out.push(
    `peak live ${fmtBytes(s.peakLiveBytes)} (${fmtInt(s.peakLiveBlocks)} blocks at the largest audit), peak committed ${fmtBytes(s.peakCommittedBytes)}, ` +
      `heap ${fmtBytes(s.heapBytes)} of max ${fmtBytes(s.maxHeapBytes)}, grown ${s.growCount} time(s)`,
  );
  return out;
}

function countsOf(r: Record<string, number>): string {
  const e = Object.entries(r).sort((a, b) => a[0].localeCompare(b[0]));
  return e.length === 0 ? 'none' : e.map(([k, v]) => `${k} ${fmtInt(v)}`).join(', ');
}

/** The racing-misuse figures: what was raced, the expected errors, and the must-be-zero counts. */
function formatMisuse(s: StressSummary): string[] {
  const m = s.misuse!;
  const o = s.options;
  return [
    `racing misuse: ${o.debug ? 'debug' : 'default'} heap, sizes ${o.raceSizes.join(', ')}, groups of 2..${o.raceWidth} workers, ` +
      `${fmtInt(m.phases)} phases in ${(s.workMs / 1000).toFixed(1)} s, threads used ${s.threadsUsed}`,
    `races: ${fmtInt(m.freeFree + m.freeRealloc)} (free vs free ${fmtInt(m.freeFree)}, free vs realloc ${fmtInt(m.freeRealloc)}); ` +
      `by width: ${countsOf(m.byWidth)}; by size: ${countsOf(m.bySize)}`,
    `calls that released the block ${fmtInt(m.succeeded)}; expected typed errors: ${countsOf(m.typedErrors)}`,
    `must be 0: undetected races ${m.undetected}, refused ${m.refused}, corruption ${m.corruption}, hangs ${m.hangs}, unexpected errors ${m.unexpected}`,
    `watchdog: ${fmtInt(m.watchdogChecks)} concurrent check({ quiescent: false }) calls, ${m.watchdogFailures} threw; ` +
      `churn blocks verified ${fmtInt(m.churned)}, out-of-memory ${m.oom}`,
  ];
}

function fmtStat(v: number): string {
  return Number.isInteger(v) || Math.abs(v) >= 1000 ? fmtInt(v) : v.toFixed(3);
}
