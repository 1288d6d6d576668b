/**
 * `sabmalloc locks`: argument parsing for the lock benchmark (bench/locks/sweep.ts).
 *
 * Owns: nothing but the mapping from argv to LockBenchOptions and from the outcome to an
 * exit code: 0 = done, 1 = a lock broke mutual exclusion (LockValidationError), 2 = bad
 * arguments (a UsageError thrown by parseLocksArgs before anything runs).
 */
import { LOCK_KINDS, type LockKind } from '../../src/locks/index.js';
import { loadLockModule } from './modules.js';
import { LockValidationError, replotLockBench, runLockBench, type LockBenchOptions } from './sweep.js';
import { DEFAULT_OUT, MAX_WORKERS, UsageError, existingFile, intListIn, listOf, numberIn, oneOf, outDir, parseOptions, parseOrExit, stem, usageLine, wantsHelp } from '../cli/args.js';

export const LOCKS_USAGE = `usage: sabmalloc locks [options]
  --quick              few points, short durations (well under a minute)
  --validate           add a validation pass (tryLock mixed in); any violation exits 1
  --kinds a,b,...      lock kinds (default all: ${LOCK_KINDS.join(',')})
  --workers 1,2,4,...  worker counts, 1..${MAX_WORKERS} (default 1,2,4,8,16,32,64; quick: 1,4,16,64)
  --cs 4,64,1024       critical-section lengths in shared writes (~2 ns each)
  --outside N          work between critical sections, relax iterations (default 64)
  --duration MS        duration of each repetition of a point (default 200; quick: 250)
  --reps N             repetitions per point, interleaved across kinds; median reported (default 9; quick: 1)
  --no-uncontended     skip the tinybench uncontended costs
  --out DIR            results directory (default bench/results, relative to the working directory)
  --no-write           write no file at all
  --name STEM          results file name stem (default locks / locks-quick)
  --lock-module FILE   your own lock (an ES module implementing the lock interface of
                       bench/locks/modules.ts; repeatable): measured next to the kinds
                       (example: bench/examples/backoff-lock.js)
  --dry-run            parse and check every argument (and load the modules), run nothing
  --replot FILE        re-render tables, charts and JSON from a saved report; no measuring
                       (written to --out, default the report's own directory)`;

const LOCKS_OPTIONS = {
  quick: { type: 'boolean' },
  validate: { type: 'boolean' },
  kinds: { type: 'string' },
  workers: { type: 'string' },
  cs: { type: 'string' },
  outside: { type: 'string' },
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
  /** --lock-module files (checked to exist; loaded by prepareLocks) */
  lockModules: string[];
  dryRun: boolean;
}

/** Parses and validates every argument; throws UsageError. Does no work. */
export function parseLocksArgs(argv: readonly string[]): LocksCommandOptions {
  const { values } = parseOptions(argv, LOCKS_OPTIONS);
  const lockModules = (values['lock-module'] ?? []).map((f) => existingFile(f, '--lock-module')!);
  // with modules, --kinds may name theirs: checked once they are loaded (prepareLocks)
  const kinds = listOf(values.kinds, '--kinds')?.map((k) => (lockModules.length ? k : oneOf(k, '--kinds', LOCK_KINDS)!)) as LockKind[] | undefined;
  const replot = existingFile(values.replot, '--replot');
  if (replot !== undefined && values['no-write']) throw new UsageError('--replot only writes files: drop --no-write');
  return {
    quick: values.quick ?? false,
    validate: values.validate ?? false,
    kinds,
    workers: intListIn(values.workers, '--workers', 1, MAX_WORKERS),
    csWrites: intListIn(values.cs, '--cs', 1, 1 << 20),
    outsideWork: numberIn(values.outside, '--outside', 0, 1 << 24),
    durationMs: numberIn(values.duration, '--duration', 1, 600_000),
    reps: numberIn(values.reps, '--reps', 1, 1000),
    uncontended: !values['no-uncontended'],
    outDir: replot !== undefined && values.out === undefined ? undefined : outDir(values.out, values['no-write'], DEFAULT_OUT),
    name: stem(values.name, '--name'),
    replot,
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
  for (const k of kinds) if (!(LOCK_KINDS as readonly string[]).includes(k) && !names.includes(k)) throw new UsageError(`bad --kinds '${k}': one of ${[...LOCK_KINDS, ...names].join(', ')}`);
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
  try {
    const report = options.replot
      ? await replotLockBench(options.replot, options.outDir ?? undefined, options.name)
      : await runLockBench(options);
    for (const f of report.files) console.error(`wrote ${f}`);
    return 0;
  } catch (e) {
    if (e instanceof LockValidationError) {
      console.error(`\nLOCK VALIDATION FAILED: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
