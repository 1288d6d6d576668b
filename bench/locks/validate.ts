/**
 * `sabmalloc locks --validate`: a verdict per lock kind and per check, never an abort.
 *
 * Checks, and how each is judged:
 * - mutual exclusion: every measured point and the validation pass check the shared
 *   counter (incremented non-atomically under the lock) and the holder witness; any lost
 *   update or witness violation is a FAIL naming the point.
 * - progress: the validation pass (fixed acquisitions per worker, tryLock mixed in, at
 *   each worker count asked for) must keep its counter moving: stuck for STALL_MS is a
 *   FAIL (bench/locks/tasks.ts). A lock that is merely slow passes, marked 'slow' when
 *   its pass ran under SLOW_FACTOR of the fastest kind's rate.
 * - fairness: no worker starved: a point where, in every repetition, some worker got no
 *   acquisition at all is a FAIL (a lock that lets one thread starve forever).
 * - dead-thread recovery (built-in kinds: a module brings no recoverLock): a worker killed
 *   holding, queued, being handed the lock, and anywhere; recoverLock; survivors finish.
 *
 * Owns: nothing shared; the verdict list it returns. Results already measured are kept
 * whatever fails; the caller writes them and sets the exit code from `anyFailed`.
 */
import { ALL_LOCK_KINDS, LAB_ONLY_LOCK_KINDS, type LockKind, type WaitPolicy } from '../../src/locks/index.js';
import { nameOf, type LockEntry } from './entries.js';
import { DEATH_RUN_ITERATIONS, deadThreadRun, type DeathMode } from './deaths.js';
import type { LockBenchPoint } from './point.js';
import { LockStalledError, STALL_MS, runTasks, type LockPool } from './tasks.js';

export type CheckName = 'mutual exclusion' | 'progress' | 'fairness' | 'dead-thread recovery';

export interface CheckVerdict {
  kind: string;
  check: CheckName;
  pass: boolean;
  /** PASS but far slower than the fastest kind (progress only) */
  slow?: boolean;
  detail: string;
}

/** Fewest repetitions of a point for its fairness to be judged. */
export const FAIRNESS_MIN_REPS = 3;

/** A pass under this share of the fastest kind's rate is marked slow. */
export const SLOW_FACTOR = 0.1;

export const DEATH_MODES: readonly DeathMode[] = ['holder', 'queued', 'handoff', 'anywhere'];
export const DEATH_LABEL: Record<DeathMode, string> = {
  holder: 'holding the lock',
  queued: 'while queued',
  handoff: 'as the lock is released to it',
  anywhere: 'at a random moment of a busy run',
};

/** Mutual-exclusion and fairness verdicts from the sweep's points (violations recorded per point). */
export function sweepVerdicts(kind: string, points: readonly LockBenchPoint[], violations: readonly string[]): CheckVerdict[] {
  const mine = points.filter((p) => nameOf(p) === kind);
  // one descheduled worker in one short window is not starvation: judged over >= 3 repetitions
  const judged = mine.filter((p) => p.workers >= 2 && p.throughputReps.length >= FAIRNESS_MIN_REPS);
  const starved = judged.filter((p) => p.starvedReps === p.throughputReps.length);
  return [
    violations.length
      ? { kind, check: 'mutual exclusion', pass: false, detail: violations[0]! + (violations.length > 1 ? ` (and ${violations.length - 1} more)` : '') }
      : { kind, check: 'mutual exclusion', pass: true, detail: `${mine.length} sweep point(s) with no lost update or witness violation` },
    starved.length
      ? { kind, check: 'fairness', pass: false, detail: `a worker got no acquisition in every repetition at ${starved.map((p) => `${p.workers} workers, cs ${p.csWrites}`).join('; ')}` }
      : judged.length
        ? { kind, check: 'fairness', pass: true, detail: `every worker acquired the lock in some repetition of every point (${judged.length} judged)` }
        : { kind, check: 'fairness', pass: true, detail: `not judged: no point with 2+ workers and ${FAIRNESS_MIN_REPS}+ repetitions` },
  ];
}

export interface ValidationPass {
  kind: LockKind;
  /** the entry's name (kind/policy) */
  name?: string;
  policy?: WaitPolicy | null;
  workers: number;
  acquisitions: number;
  ok: boolean;
  rate: number | null;
  detail: string;
}

/** The validation pass of one kind at each worker count asked for: progress and mutual exclusion. */
export async function validationPasses(pool: LockPool, entry: LockEntry, workerCounts: readonly number[], iterations: number, progress: (l: string) => void): Promise<ValidationPass[]> {
  const out: ValidationPass[] = [];
  const { kind, name, policy } = entry;
  for (const workers of workerCounts) {
    try {
      const r = await runTasks(pool, kind, workers, { iterations, csWrites: 8, outsideWork: 8, useTryLock: true, ...(policy ? { policy } : {}) }, 0);
      const acquisitions = r.results.reduce((a, x) => a + x.acquisitions, 0);
      const rate = acquisitions / (r.wallMs / 1000);
      out.push({ kind, name, policy, workers, acquisitions, ok: r.violation === null, rate, detail: r.violation ?? `${acquisitions} acquisitions in ${(r.wallMs / 1000).toFixed(2)} s` });
    } catch (e) {
      if (!(e instanceof LockStalledError)) throw e;
      out.push({ kind, name, policy, workers, acquisitions: 0, ok: false, rate: null, detail: e.message });
    }
    const v = out[out.length - 1]!;
    progress(`validate ${name} workers=${workers}: ${v.ok ? 'ok' : 'FAIL'}: ${v.detail}`);
  }
  return out;
}

/**
 * Progress and mutual-exclusion verdicts of every kind's validation passes. 'slow' is
 * judged on the sweep (the median throughput at the largest worker count measured,
 * `sweepRate`), not on the short validation pass, against the fastest kind there.
 */
export function passVerdicts(passes: readonly ValidationPass[], sweepRate: ReadonlyMap<string, number>): CheckVerdict[] {
  const best = Math.max(0, ...sweepRate.values());
  const out: CheckVerdict[] = [];
  for (const kind of [...new Set(passes.map(nameOf))]) {
    const mine = passes.filter((p) => nameOf(p) === kind);
    const stuck = mine.find((p) => p.rate === null);
    const broken = mine.find((p) => p.rate !== null && !p.ok);
    const rate = sweepRate.get(kind) ?? NaN;
    const slow = !stuck && best > 0 && rate < SLOW_FACTOR * best;
    const counts = mine.map((p) => p.workers).join(',');
    out.push(
      stuck
        ? { kind, check: 'progress', pass: false, detail: `stuck: ${stuck.detail}` }
        : { kind, check: 'progress', pass: true, slow, detail: `counter kept moving at ${counts} workers (stall limit ${STALL_MS / 1000} s)${slow ? `; sweep ${fmtK(rate)} acq/s, under ${100 * SLOW_FACTOR}% of the fastest kind (${fmtK(best)})` : ''}` },
    );
    if (broken) out.push({ kind, check: 'mutual exclusion', pass: false, detail: `validation pass: ${broken.detail}` });
  }
  return out;
}

/**
 * One verdict per (kind, check): the sweep and the validation pass may both judge mutual
 * exclusion; a check either of them failed fails once, carrying every failing detail.
 */
export function oneVerdictPerCheck(vs: readonly CheckVerdict[]): CheckVerdict[] {
  const out: CheckVerdict[] = [];
  for (const v of vs) {
    const i = out.findIndex((o) => o.kind === v.kind && o.check === v.check);
    if (i < 0) out.push(v);
    else if (out[i]!.pass && !v.pass) out[i] = v;
    else if (!out[i]!.pass && !v.pass) out[i] = { ...out[i]!, detail: `${out[i]!.detail}; ${v.detail}` };
  }
  return out;
}

const fmtK = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0));

export interface DeathRow {
  kind: LockKind;
  /** the entry's name (kind/policy) */
  name?: string;
  mode: DeathMode;
  role: string;
  survivorAcquisitions: number;
  ms: number;
  pass: boolean;
  detail: string;
}

/**
 * The dead-thread scenarios of one built-in entry, each with its verdict. A lab-only kind
 * (clh, hemlock, anderson, busted) runs the `holder` scenario only: recovering a dead
 * waiter is refused for them (LockKindRefusedError; src/locks/<kind>.ts says why).
 */
export async function deathRows(entry: LockEntry, progress: (l: string) => void, modes: readonly DeathMode[] = DEATH_MODES): Promise<DeathRow[]> {
  const { kind, name, policy } = entry;
  if (!(ALL_LOCK_KINDS as readonly string[]).includes(kind)) {
    progress(`validate ${name}: no dead-thread pass (a lock module brings no recovery)`);
    return [];
  }
  const labOnly = (LAB_ONLY_LOCK_KINDS as readonly string[]).includes(kind);
  const rows: DeathRow[] = [];
  for (const mode of labOnly ? modes.filter((m) => m === 'holder') : modes) {
    const t0 = performance.now();
    let row: DeathRow;
    try {
      const r = await deadThreadRun(kind, mode, mode === 'handoff' ? 0.5 : mode === 'anywhere' ? Math.random() * 3 : 0, undefined, policy ?? undefined);
      const acquisitions = r.results.map((x) => x.acquisitions);
      const violations = r.results.reduce((a, x) => a + x.violations, 0);
      const pass = violations === 0 && acquisitions.every((a, k) => a === DEATH_RUN_ITERATIONS[k]) && r.holderAfter === 0;
      row = {
        kind,
        name,
        mode,
        role: r.role,
        survivorAcquisitions: acquisitions.reduce((a, b) => a + b, 0),
        ms: performance.now() - t0,
        pass,
        detail: pass ? 'survivors finished' : `${violations} violations, acquisitions ${acquisitions.join(',')}, holder ${r.holderAfter}`,
      };
    } catch (e) {
      row = { kind, name, mode, role: '-', survivorAcquisitions: 0, ms: performance.now() - t0, pass: false, detail: `not survived: ${(e as Error).message.split('\n')[0]}` };
    }
    rows.push(row);
    progress(`validate ${name}: worker killed ${DEATH_LABEL[mode]}: ${row.pass ? `recoverLock -> ${row.role}; survivors finished` : `FAIL: ${row.detail}`}`);
  }
  return rows;
}

export function deathVerdicts(kind: string, rows: readonly DeathRow[]): CheckVerdict[] {
  const mine = rows.filter((r) => nameOf(r) === kind);
  if (mine.length === 0) return [];
  const bad = mine.filter((r) => !r.pass);
  return [
    bad.length
      ? { kind, check: 'dead-thread recovery', pass: false, detail: bad.map((r) => `killed ${DEATH_LABEL[r.mode]}: ${r.detail}`).join('; ') }
      : { kind, check: 'dead-thread recovery', pass: true, detail: `${mine.length} scenarios survived` },
  ];
}

/** One line per verdict: "PASS  ttas  progress  ...", the slow ones "PASS (slow)". */
export function formatVerdicts(vs: readonly CheckVerdict[]): string {
  const w = Math.max(4, ...vs.map((v) => v.kind.length));
  return vs.map((v) => `${(v.pass ? (v.slow ? 'PASS (slow)' : 'PASS') : 'FAIL').padEnd(11)}  ${v.kind.padEnd(w)}  ${v.check.padEnd(20)}  ${v.detail}`).join('\n');
}
