/**
 * The stress tester's options, as the caller gives them (StressOptions) and as a run uses
 * them (resolveStressOptions: defaults filled in, every value checked, a RangeError naming
 * the bad one), and the summary a run returns.
 */
import { join } from 'node:path';
import { type HeapStats, type LockKind } from '../../src/index.js';
import { type SizeMix } from './shared.js';
import { type OpCounts } from './shared.js';
import type { StressFailure } from './types.js';
import { RACE_SIZES, type RaceTotals, type RaceSize } from './race.js';

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

export function resolveMisuse(o: StressOptions): Pick<ResolvedStressOptions, 'misuse' | 'debug' | 'raceSizes' | 'raceWidth' | 'hangMs'> {
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
