/**
 * `sabmalloc bench`: argument parsing for the contention suite (bench/contention).
 *
 * Owns: the mapping from argv to ContentionOptions and from the outcome to an exit code:
 * 0 = every run passed, 1 = some run failed (verification, heap check, leak, hang), 2 = bad
 * arguments. Wire it from the main CLI with
 *   `case 'bench': process.exitCode = await benchCommand(argv.slice(1)); break;`
 * It also runs standalone: `node dist/src/cli/bench-command.js --quick`.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_ALLOCATORS, QUICK_ALLOCATORS } from '../contention/allocators.js';
import { formatSummary, writeReport } from '../contention/report.js';
import { recomputeResults, runContentionSuite, type SuiteResults } from '../contention/suite.js';
import type { ContentionOptions } from '../contention/types.js';
import { WORKLOAD_NAMES } from '../contention/workloads/index.js';

export const BENCH_USAGE = `usage: sabmalloc bench [options]
Contention benchmark suite: allocator workloads on 1..64 workers, sabmalloc against a
global-lock baseline and @thi.ng/malloc behind a lock. Writes a Markdown report, SVG charts
and the JSON of every figure.

  --quick                about a minute: workers 1,2,4, 2 reps, short windows, fewer allocators
  --workers 1,2,4,...    worker counts (default 1,2,4,8,16,32,64; quick 1,2,4)
  --workloads a,b,...    of ${WORKLOAD_NAMES.join(',')} (default all)
  --allocators a,b,...   default ${DEFAULT_ALLOCATORS.join(',')}
                         (quick: ${QUICK_ALLOCATORS.join(',')}); also sabmalloc-<central>-<pageheap>
                         for any lock kinds, locks-all (every kind on both tiers), locks-matrix
  --duration MS          timed window of each run (default 200; quick 100)
  --reps N               repetitions per point (default 3; quick 2)
  --param w.key=value    workload parameter, repeatable (e.g. --param larson.slots=1000)
  --seed N               random seed (default 1)
  --out DIR              results directory (default bench/results); --no-write to skip files
  --name STEM            file name stem (default contention; quick contention-quick)
  --touch sparse|full    how much of each block is written and checked (default sparse:
                         blocks > 128 B get one word per 64 B; full: every word)
  --prealloc             create sabmalloc heaps at full size (no growth during runs)
  --no-check             skip the heap check after each run
  --no-warmup            skip the warm-up run per (allocator, workload)
  --fail-fast            stop at the first failed run
  --note TEXT            a paragraph for the top of the report (why the run was made this way)
  --from-json FILE       re-render the report from saved results (no run)
  --json                 print the results JSON on stdout instead of the summary table`;

function list(s: string | undefined): string[] | undefined {
  if (s === undefined) return undefined;
  const xs = s.split(',').map((x) => x.trim()).filter(Boolean);
  if (xs.length === 0) throw new RangeError(`empty list: "${s}"`);
  return xs;
}

function intList(s: string | undefined, what: string): number[] | undefined {
  const xs = list(s);
  if (!xs) return undefined;
  return xs.map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`bad ${what}: "${x}" is not a positive integer`);
    return n;
  });
}

function positive(s: string | undefined, what: string): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`bad ${what}: "${s}" is not a positive number`);
  return n;
}

export interface BenchCommandOptions {
  suite: ContentionOptions & { failFast?: boolean };
  outDir: string | null;
  stem: string;
  json: boolean;
  note?: string;
  fromJson?: string;
}

export function parseBenchArgs(argv: readonly string[]): BenchCommandOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean' },
      workers: { type: 'string' },
      workloads: { type: 'string' },
      allocators: { type: 'string' },
      duration: { type: 'string' },
      reps: { type: 'string' },
      param: { type: 'string', multiple: true },
      seed: { type: 'string' },
      out: { type: 'string' },
      'no-write': { type: 'boolean' },
      name: { type: 'string' },
      prealloc: { type: 'boolean' },
      touch: { type: 'string' },
      'no-check': { type: 'boolean' },
      'no-warmup': { type: 'boolean' },
      'fail-fast': { type: 'boolean' },
      json: { type: 'boolean' },
      note: { type: 'string' },
      'from-json': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const workloads = list(values.workloads);
  for (const w of workloads ?? []) if (!WORKLOAD_NAMES.includes(w)) throw new RangeError(`unknown workload "${w}" (known: ${WORKLOAD_NAMES.join(', ')})`);
  const params: Record<string, Record<string, number>> = {};
  for (const p of values.param ?? []) {
    const m = /^([a-z-]+)\.([A-Za-z]+)=(-?[0-9.e+]+)$/.exec(p);
    if (!m || !WORKLOAD_NAMES.includes(m[1]) || !Number.isFinite(Number(m[3]))) {
      throw new RangeError(`bad --param "${p}": expected workload.key=number`);
    }
    (params[m[1]] ??= {})[m[2]] = Number(m[3]);
  }
  const reps = positive(values.reps, '--reps');
  if (reps !== undefined && !Number.isInteger(reps)) throw new RangeError(`bad --reps: ${values.reps}`);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isInteger(seed)) throw new RangeError(`bad --seed: ${values.seed}`);
  const quick = values.quick ?? false;
  if (values.touch !== undefined && values.touch !== 'full' && values.touch !== 'sparse') throw new RangeError(`bad --touch "${values.touch}": full or sparse`);
  return {
    suite: {
      quick,
      workers: intList(values.workers, '--workers'),
      workloads,
      allocators: list(values.allocators),
      durationMs: positive(values.duration, '--duration'),
      reps,
      params,
      seed,
      check: !values['no-check'],
      preallocate: values.prealloc ?? false,
      touch: values.touch as 'full' | 'sparse' | undefined,
      warmup: !values['no-warmup'],
      failFast: values['fail-fast'] ?? false,
      progress: true,
    },
    outDir: values['no-write'] ? null : (values.out ?? 'bench/results'),
    stem: values.name ?? (quick ? 'contention-quick' : 'contention'),
    json: values.json ?? false,
    note: values.note,
    fromJson: values['from-json'],
  };
}

/** Runs the contention suite for `argv` (the arguments after `bench`); returns the exit code. */
export async function benchCommand(argv: readonly string[]): Promise<number> {
  let opts: BenchCommandOptions;
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(BENCH_USAGE);
    return 0;
  }
  try {
    opts = parseBenchArgs(argv);
  } catch (err) {
    console.error(`sabmalloc bench: ${err instanceof Error ? err.message : String(err)}\n\n${BENCH_USAGE}`);
    process.exitCode = 2;
    return 2;
  }
  let results: SuiteResults;
  if (opts.fromJson) {
    results = recomputeResults(JSON.parse(readFileSync(opts.fromJson, 'utf8')) as SuiteResults);
  } else {
    try {
      results = await runContentionSuite(opts.suite);
    } catch (err) {
      console.error(`sabmalloc bench: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exitCode = 1;
      return 1;
    }
    results.meta.command = `sabmalloc bench${argv.length ? ` ${argv.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}` : ''}`;
  }
  if (opts.note) results.meta.note = opts.note;
  if (opts.outDir !== null) {
    const files = await writeReport(results, opts.outDir, opts.stem);
    console.error(`wrote ${files.length} files under ${opts.outDir}: ${files.filter((f) => f.endsWith('.md') || f.endsWith('.json')).join(', ')}`);
  }
  if (opts.json) console.log(JSON.stringify(results, null, 1));
  else console.log(formatSummary(results));
  const code = results.failures.length > 0 ? 1 : 0;
  if (code !== 0) console.error(`sabmalloc bench: ${results.failures.length} run(s) FAILED (see above and the report)`);
  process.exitCode = code;
  return code;
}

const self = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (self === realpathSync(fileURLToPath(import.meta.url))) {
  process.exitCode = await benchCommand(process.argv.slice(2));
}
