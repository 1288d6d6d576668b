/**
 * `sabmalloc locks`: argument parsing for the lock benchmark (bench/locks.ts).
 *
 * Owns: nothing but the mapping from argv to LockBenchOptions and from the outcome to an
 * exit code: 0 = done, 1 = a lock broke mutual exclusion (LockValidationError), 2 = bad
 * arguments. Wire it from the main CLI with
 *   `case 'locks': process.exitCode = await runLocksCommand(argv.slice(1)); break;`
 * It also runs standalone: `node dist/src/cli/locks-command.js --quick`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LOCK_KINDS, type LockKind } from '../../src/locks/index.js';
import { LockValidationError, replotLockBench, runLockBench, type LockBenchOptions } from '../locks.js';

export const LOCKS_USAGE = `usage: sabmalloc locks [options]
  --quick              few points, short durations (well under a minute)
  --validate           add a validation pass (tryLock mixed in); any violation exits 1
  --kinds a,b,...      lock kinds (default all: ${LOCK_KINDS.join(',')})
  --workers 1,2,4,...  worker counts (default 1,2,4,8,16,32,64; quick: 1,4,16,64)
  --cs 4,64,1024       critical-section lengths in shared writes (~2 ns each)
  --outside N          work between critical sections, relax iterations (default 64)
  --duration MS        duration of each repetition of a point (default 200; quick: 250)
  --reps N             repetitions per point, interleaved across kinds; median reported (default 9; quick: 1)
  --no-uncontended     skip the tinybench uncontended costs
  --out DIR            results directory (default bench/results); --no-write to skip
  --name STEM          results file name stem (default locks / locks-quick)
  --replot FILE        re-render tables, charts and JSON from a saved report; no measuring`;

function numberList(s: string | undefined, what: string): number[] | undefined {
  if (s === undefined) return undefined;
  const xs = s.split(',').map((x) => Number(x.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x) || x < 0)) throw new RangeError(`bad ${what}: ${s}`);
  return xs;
}

export function parseLocksArgs(argv: readonly string[]): LockBenchOptions & { replot?: string } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
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
    },
    strict: true,
    allowPositionals: false,
  });
  let kinds: LockKind[] | undefined;
  if (values.kinds !== undefined) {
    kinds = values.kinds.split(',').map((k) => k.trim()) as LockKind[];
    for (const k of kinds) if (!LOCK_KINDS.includes(k)) throw new RangeError(`unknown lock kind: ${k}`);
  }
  const outside = numberList(values.outside, '--outside');
  const duration = numberList(values.duration, '--duration');
  const reps = numberList(values.reps, '--reps');
  return {
    quick: values.quick ?? false,
    validate: values.validate ?? false,
    kinds,
    workers: numberList(values.workers, '--workers'),
    csWrites: numberList(values.cs, '--cs'),
    outsideWork: outside?.[0],
    durationMs: duration?.[0],
    reps: reps?.[0],
    uncontended: !values['no-uncontended'],
    outDir: values['no-write'] ? null : values.out,
    name: values.name,
    replot: values.replot,
  };
}

/** Runs the lock benchmark for `argv` (arguments after `locks`); returns the exit code. */
export async function runLocksCommand(argv: readonly string[]): Promise<number> {
  let options: LockBenchOptions & { replot?: string };
  try {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(LOCKS_USAGE);
      return 0;
    }
    options = parseLocksArgs(argv);
  } catch (e) {
    console.error(`sabmalloc locks: ${(e as Error).message}\n${LOCKS_USAGE}`);
    return 2;
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

const invokedDirectly = (() => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();
if (invokedDirectly) process.exitCode = await runLocksCommand(process.argv.slice(2));
