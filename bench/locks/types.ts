/**
 * The lock benchmark's option and report shapes (what `sabmalloc locks` takes and writes
 * as JSON), apart from the code that fills them (sweep.ts) and renders them (report.ts).
 *
 * Owns: types only.
 */
import type { LockKind } from '../../src/locks/index.js';
import type { DeathMode } from './deaths.js';
import type { LockEntry, PolicyChoice } from './entries.js';
import type { LockBenchPoint } from './point.js';
import type { UncontendedRow } from './tasks.js';
import type { CheckVerdict, DeathRow, ValidationPass } from './validate.js';

export interface LockBenchOptions {
  kinds?: readonly LockKind[];
  /** Waiting policies, a sweep axis (bench/locks/entries.ts): default each kind's own. */
  policies?: readonly PolicyChoice[];
  workers?: readonly number[];
  /** Critical-section lengths, in shared-memory writes (about 2 ns each here; 0 = empty). */
  csWrites?: readonly number[];
  /** Work between critical sections, in cpuRelax iterations (calibrated time beside it). */
  outsideWork?: number;
  durationMs?: number;
  /** Critical-section lengths in ns (converted to shared writes with this thread's calibration; replaces csWrites). */
  csNs?: readonly number[];
  /** Work between critical sections in ns (converted to relax iterations; replaces outsideWork). */
  outsideNs?: number;
  /** Randomised lengths: each section uniform in [(1-j)x, (1+j)x]. */
  jitter?: number;
  /** Stutter mode: bursts of this many ms of contention with idle gaps as long. */
  stutterMs?: number;
  /** Long-hold mode: one acquisition in `every` holds the lock `ms` longer. */
  longHold?: { every: number; ms: number };
  /** Repetitions of each point (interleaved across kinds, at least 3 by default); median reported. */
  reps?: number;
  /** Shorter windows and fewer points: the whole run in well under a minute (still 3 reps). */
  quick?: boolean;
  /** More repetitions until each interval is within this share of its median (e.g. 0.1). */
  untilStable?: number;
  /** Also run the validation pass and give verdicts (bench/locks/validate.ts). */
  validate?: boolean;
  /** Acquisitions per worker in the validation pass (default 2000). */
  validateIterations?: number;
  /** Dead-thread scenarios of the validation (default all four; lab-only kinds: holder only). */
  deathModes?: readonly DeathMode[];
  /** Print the project's own acceptance comparisons (best kind, adaptive/best). */
  targets?: boolean;
  /** Run the uncontended tinybench part. */
  uncontended?: boolean;
  /** Directory for JSON + CSV + SVG results; null writes nothing. */
  outDir?: string | null;
  /** File name stem of the results (default 'locks', or 'locks-quick-<time>' with quick). */
  name?: string;
  /** Progress sink (default: stderr). */
  progress?: (line: string) => void;
  /** Print the tables to stdout (default true). */
  print?: boolean;
}

export type { UncontendedRow } from './tasks.js';

export interface LockBenchReport {
  machine: { cpus: number; cpuModel: string; node: string; platform: string; loadAvgStart?: number; loadAvgEnd?: number };
  options: Required<Omit<LockBenchOptions, 'progress' | 'outDir' | 'print' | 'untilStable' | 'validateIterations' | 'targets' | 'deathModes' | 'csNs' | 'outsideNs' | 'jitter' | 'stutterMs' | 'longHold'>> & {
    untilStable?: number;
    warmupMs?: number;
  } & Pick<LockBenchOptions, 'csNs' | 'outsideNs' | 'jitter' | 'stutterMs' | 'longHold'>; // csNs: as asked; csWrites[i] is csNs[i] converted
  startedAt: string;
  csNs: Record<number, number>;
  /** calibrated time of the --outside work, ns */
  outsideNs?: number;
  /** the clock's step in the workers' timing, ns (bench/kit/histogram.ts) */
  timerResolutionNs?: number | null;
  /** what was measured: (kind, policy) pairs, each shown by its name */
  entries: LockEntry[];
  uncontended: UncontendedRow[];
  points: LockBenchPoint[];
  validation: ValidationPass[];
  /** Dead-thread pass (validate): what recoverLock found, and whether the survivors finished. */
  deaths: DeathRow[];
  /** validate: PASS/FAIL per kind and check */
  verdicts?: CheckVerdict[];
  files: string[];
}

