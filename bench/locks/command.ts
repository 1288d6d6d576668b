/**
 * `sabmalloc locks`: argument parsing for the lock benchmark (bench/locks/sweep.ts).
 *
 * Owns: nothing but the mapping from argv to LockBenchOptions and from the outcome to an
 * exit code: 0 = done, 1 = --validate gave a FAIL (every result is still written), 2 = bad
 * arguments or a bad --lock-module (a UsageError before anything runs; a module's load and
 * smoke test run in a worker under MODULE_TIMEOUT_MS, so a hanging module is one line).
 */
import { cpus, loadavg } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatWake, runWakeBench } from './wake.js';
import { ALL_LOCK_KINDS, LAB_ONLY_LOCK_KINDS, LOCK_KINDS, TIER_LOCK_KINDS, type LockKind } from '../../src/locks/index.js';
import { POLICY_CHOICES, type PolicyChoice } from './entries.js';
import { loadLockModule } from './modules.js';
import { anyFailed, replotLockBench, runLockBench, type LockBenchOptions } from './sweep.js';
import { MODULE_TIMEOUT_MS } from '../kit/module-check.js';
import { STALL_MS } from './tasks.js';
import { DEATH_MODES } from './validate.js';
import { DEFAULT_OUT, MAX_WORKERS, UsageError, existingFile, uniqueStem, intListIn, listOf, numberIn, oneOf, outDir, parseOptions, parseOrExit, stem, usageLine, wantsHelp } from '../cli/args.js';

export const LOCKS_USAGE = `usage: sabmalloc locks [options]
Lock lab: what each lock kind costs uncontended, and its throughput, fairness and acquire
latency when 1..64 workers fight over one lock (median of repetitions, with noise flags).

  --quick              fewer points, 100 ms windows, still 3 repetitions (well under a minute)
  --validate           PASS/FAIL per kind and check (mutual exclusion, progress: the counter
                       stuck for ${STALL_MS / 1000} s, fairness, dead-thread recovery) at the worker
                       counts asked for; keeps going after a FAIL; exit 1 if anything failed
  --wake               only the Atomics.wait/notify micro-benchmark (perf bench futex wake style):
                       N waiters (--workers, default 1,2,8,32) woken by one notify, --wake-rounds
                       rounds (default 200; quick: 50); the notify call's time and each waiter's
                       wake-up latency (bucket bounds); JSON <stem>-wake.json
  --validate-iterations N  acquisitions per worker in the validation pass (default 2000)
  --death-modes a,b    dead-thread scenarios of --validate: holder, queued, handoff, anywhere
                       (default all; the lab-only kinds clh, hemlock, anderson, busted run holder
                       only: recovering a dead waiter is refused for them)
  --kinds a,b,...      lock kinds (default: ${LOCK_KINDS.join(',')}); 'all': every built-in kind,
                       also ${TIER_LOCK_KINDS.filter((k) => !LOCK_KINDS.includes(k)).join(',')}
                       and the lab-only ${LAB_ONLY_LOCK_KINDS.join(',')} (busted: the negative control, no
                       mutual exclusion; --validate must FAIL it)
  --policy a,b,...     waiting policies, a sweep axis: spin, spin-then-park, park, default (each
                       kind's own), all (every policy each kind supports); default: default. A kind
                       supporting none of those asked runs under its own. Names show kind/policy
  --workers 1,2,4,...  worker counts, 1..${MAX_WORKERS} (default 1,2,4,8,16,32,64; quick: 1,4,16,64)
  --per-core 1,2,8,32  oversubscription as the axis: workers per core (this machine: ${cpus().length} cores),
                       instead of --workers
  --cs 0,4,64,1024     critical-section lengths in shared writes, each calibrated and printed
                       beside it (default 4,64,1024; quick: 4); 0 = an empty critical section
  --outside N          work between critical sections, in relax iterations; its calibrated time
                       is printed beside it (default 64)
  --cs-ns 50,500       critical-section lengths in ns instead of --cs (converted to shared writes
                       by this machine's calibration; the calibrated time is printed beside each)
  --outside-ns N       work between critical sections in ns instead of --outside
  --jitter J           randomised lengths: each critical section and outside work uniform in
                       [(1-J)x, (1+J)x], 0 < J <= 1 (lockhammer-style randomisation)
  --stutter MS         stutter mode: MS of contention, then MS with every worker asleep, and again
  --long-hold N:MS     long-hold mode: one acquisition in N (at random) holds the lock MS longer
  --duration MS        window of each repetition of a point (default 200; quick: 100)
  --reps N             repetitions per point, interleaved across kinds, after an untimed warm-up;
                       median and interval reported (default 9; quick: 3)
  --until-stable W     more repetitions until each point's interval is within W of its median
                       (e.g. 0.1), at most 30 per point and 2 minutes in all
  --targets            also print the project's own comparison (best kind, adaptive/best)
  --no-uncontended     skip the tinybench uncontended costs
  --out DIR            results directory (default bench/results, relative to the working directory)
  --no-write           write no file at all
  --name STEM          results file name stem (default locks; quick: locks-quick-<time>)
  --lock-module FILE   your own lock (an ES module implementing the lock interface of
                       bench/locks/modules.ts; repeatable): measured next to the kinds
                       (example: bench/examples/backoff-lock.js)
  --dry-run            parse and check every argument (and load the modules, each in a worker
                       stopped after ${MODULE_TIMEOUT_MS / 1000} s), run nothing
  --replot FILE        re-render tables, charts and JSON from a saved report; no measuring
                       (written to --out, default the report's own directory)`;

const LOCKS_OPTIONS = {
  quick: { type: 'boolean' },
  validate: { type: 'boolean' },
  wake: { type: 'boolean' },
  'wake-rounds': { type: 'string' },
  'validate-iterations': { type: 'string' },
  'death-modes': { type: 'string' },
  'until-stable': { type: 'string' },
  targets: { type: 'boolean' },
  kinds: { type: 'string' },
  policy: { type: 'string' },
  workers: { type: 'string' },
  'per-core': { type: 'string' },
  cs: { type: 'string' },
  outside: { type: 'string' },
  'cs-ns': { type: 'string' },
  'outside-ns': { type: 'string' },
  jitter: { type: 'string' },
  stutter: { type: 'string' },
  'long-hold': { type: 'string' },
  duration: { type: 'string' },
  reps: { type: 'string' },
  'no-uncontended': { type: 'boolean' },
  out: { type: 'string' },
  'no-write': { type: 'boolean' },
  name: { type: 'string' },
  replot: { type: 'string' },
  'lock-module': { type: 'string', multiple: true },
  'dry-run': { type: 'boolean' },
} as const;

export interface LocksCommandOptions extends LockBenchOptions {
  replot?: string;
  wake: boolean;
  wakeRounds?: number;
  /** --lock-module files (checked to exist; loaded by prepareLocks) */
  lockModules: string[];
  dryRun: boolean;
}

/** --long-hold N:MS -> { every: N, ms: MS }. */
function longHoldOf(s: string | undefined): { every: number; ms: number } | undefined {
  if (s === undefined) return undefined;
  const m = /^(\d+):(\d+(?:\.\d+)?)$/.exec(s);
  const every = Number(m?.[1]);
  const ms = Number(m?.[2]);
  if (!m || !(every >= 1 && every <= 1e9) || !(ms > 0 && ms <= 10_000)) throw new UsageError(`bad --long-hold '${s}': N:MS, e.g. 1000:2 (one acquisition in 1000 holds 2 ms longer)`);
  return { every, ms };
}

/** --workers, or --per-core times this machine's cores (each within 1..MAX_WORKERS). */
function workersOf(workers: string | undefined, perCore: string | undefined): number[] | undefined {
  if (workers !== undefined && perCore !== undefined) throw new UsageError('give --workers or --per-core, not both');
  if (perCore === undefined) return intListIn(workers, '--workers', 1, MAX_WORKERS);
  const n = cpus().length;
  return intListIn(perCore, '--per-core', 1, Math.max(1, Math.floor(MAX_WORKERS / n)))!.map((k) => k * n);
}

/** Parses and validates every argument; throws UsageError. Does no work. */
export function parseLocksArgs(argv: readonly string[]): LocksCommandOptions {
  const { values } = parseOptions(argv, LOCKS_OPTIONS);
  const lockModules = (values['lock-module'] ?? []).map((f) => existingFile(f, '--lock-module')!);
  // with modules, --kinds may name theirs: checked once they are loaded (prepareLocks)
  const kinds = listOf(values.kinds, '--kinds')
    ?.flatMap((k): string[] => (k === 'all' ? [...ALL_LOCK_KINDS] : [k]))
    .map((k) => (lockModules.length ? k : oneOf(k, '--kinds', [...ALL_LOCK_KINDS, 'all'])!)) as LockKind[] | undefined;
  const policies = listOf(values.policy, '--policy')?.map((p) => oneOf(p, '--policy', POLICY_CHOICES)!) as PolicyChoice[] | undefined;
  if (values.cs !== undefined && values['cs-ns'] !== undefined) throw new UsageError('give --cs or --cs-ns, not both');
  if (values.outside !== undefined && values['outside-ns'] !== undefined) throw new UsageError('give --outside or --outside-ns, not both');
  const replot = existingFile(values.replot, '--replot');
  if (replot !== undefined && values['no-write']) throw new UsageError('--replot only writes files: drop --no-write');
  return {
    quick: values.quick ?? false,
    validate: values.validate ?? false,
    deathModes: listOf(values['death-modes'], '--death-modes')?.map((m) => oneOf(m, '--death-modes', DEATH_MODES)!),
    validateIterations: numberIn(values['validate-iterations'], '--validate-iterations', 1, 1e9),
    untilStable: numberIn(values['until-stable'], '--until-stable', 0.001, 10, false),
    targets: values.targets ?? false,
    kinds: kinds && [...new Set(kinds)],
    policies,
    workers: workersOf(values.workers, values['per-core']),
    csWrites: intListIn(values.cs, '--cs', 0, 1 << 20),
    outsideWork: numberIn(values.outside, '--outside', 0, 1 << 24),
    csNs: intListIn(values['cs-ns'], '--cs-ns', 0, 10_000_000),
    outsideNs: numberIn(values['outside-ns'], '--outside-ns', 0, 1e9, false),
    jitter: numberIn(values.jitter, '--jitter', 0.001, 1, false),
    stutterMs: numberIn(values.stutter, '--stutter', 1, 60_000, false),
    longHold: longHoldOf(values['long-hold']),
    durationMs: numberIn(values.duration, '--duration', 1, 600_000),
    reps: numberIn(values.reps, '--reps', 1, 1000),
    uncontended: !values['no-uncontended'],
    outDir: replot !== undefined && values.out === undefined ? undefined : outDir(values.out, values['no-write'], DEFAULT_OUT),
    name: stem(values.name, '--name'),
    replot,
    wake: values.wake ?? false,
    wakeRounds: numberIn(values['wake-rounds'], '--wake-rounds', 1, 100_000),
    lockModules,
    dryRun: values['dry-run'] ?? false,
  };
}

/**
 * The asynchronous part of validation: loads the --lock-module files (checking the lock
 * interface with a single-thread round trip), adds their kinds to the list and checks the
 * whole list. Throws UsageError. Measures nothing.
 */
export async function prepareLocks(opts: LocksCommandOptions): Promise<void> {
  if (opts.lockModules.length === 0) return;
  const names: string[] = [];
  for (const file of opts.lockModules) {
    try {
      names.push(await loadLockModule(file));
    } catch (e) {
      throw new UsageError((e as Error).message.split('\n')[0]!);
    }
  }
  const kinds: string[] = [...(opts.kinds ?? LOCK_KINDS)];
  for (const k of kinds) if (!(ALL_LOCK_KINDS as readonly string[]).includes(k) && !names.includes(k)) throw new UsageError(`bad --kinds '${k}': one of ${[...ALL_LOCK_KINDS, ...names].join(', ')}`);
  for (const n of names) if (!kinds.includes(n)) kinds.push(n);
  opts.kinds = kinds as LockKind[]; // module kinds travel as names (bench/locks/modules.ts)
}

/**
 * Runs `sabmalloc locks` for `argv` (the arguments after `locks`); returns the exit code.
 * Bad arguments: one line on stderr and exit code 2, before anything runs.
 */
export async function runLocksCommand(argv: readonly string[]): Promise<number> {
  if (wantsHelp(argv)) {
    console.log(LOCKS_USAGE);
    return 0;
  }
  const r = parseOrExit('locks', () => parseLocksArgs(argv));
  if ('code' in r) return r.code;
  const options = r.ok;
  try {
    await prepareLocks(options);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(usageLine('locks', e.message));
    return 2;
  }
  if (options.dryRun) {
    console.log('sabmalloc locks: arguments OK; dry run, nothing measured or written');
    return 0;
  }
  if (options.wake) return runWakeCommand(options);
  const report = options.replot ? await replotLockBench(options.replot, options.outDir ?? undefined, options.name) : await runLockBench(options);
  if (report.files.length) console.error(`wrote ${report.files.length} files:\n${report.files.map((f) => `  ${f}`).join('\n')}`);
  if (anyFailed(report)) {
    const n = report.verdicts!.filter((v) => !v.pass).length;
    console.error(`\nvalidation: ${n} check(s) FAILED (see the table above); every result was written`);
    return 1;
  }
  return 0;
}

/** `--wake`: the Atomics.wait/notify micro-benchmark alone (bench/locks/wake.ts). */
async function runWakeCommand(o: LocksCommandOptions): Promise<number> {
  const counts = o.workers ?? [1, 2, 8, 32];
  const rounds = o.wakeRounds ?? (o.quick ? 50 : 200);
  const load = loadavg()[0];
  const rows = await runWakeBench(counts, rounds, (l) => process.stderr.write(l + '\n'));
  console.log(`\nAtomics.wait/notify: N waiters woken by one notify (${cpus().length} cores, load ${load.toFixed(1)} -> ${loadavg()[0].toFixed(1)}); log2 bucket bounds`);
  console.log(formatWake(rows));
  if (o.outDir) {
    mkdirSync(o.outDir, { recursive: true });
    const file = join(o.outDir, `${o.name ?? (o.quick ? uniqueStem('locks-quick') : 'locks')}-wake.json`);
    writeFileSync(file, JSON.stringify({ startedAt: new Date().toISOString(), machine: { cpus: cpus().length, node: process.version, loadAvgStart: load, loadAvgEnd: loadavg()[0] }, rounds, rows }, null, 2) + '\n');
    console.error(`wrote 1 file:\n  ${file}`);
  }
  return 0;
}
