/**
 * `sabmalloc bench`: the micro benchmarks (bench/micro/micro.ts), then the contention suite
 * (bench/contention).
 *
 * Owns: the mapping from argv to ContentionOptions and from the outcome to an exit code:
 * 0 = every run passed, 1 = some run failed (verification, heap check, leak, hang), 2 = bad
 * arguments (a UsageError thrown by parseBenchArgs before anything runs). Every file goes
 * under --out (default bench/results) and nothing is written with --no-write.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_ALLOCATORS, QUICK_ALLOCATORS, allocatorSpec, expandAllocatorIds, registerAllocatorSpec } from './allocators.js';
import { loadAllocatorModule } from './adapters/module.js';
import { writeResultsCsv } from './csv.js';
import { formatSummary, writeReport } from './report.js';
import { recomputeResults, runContentionSuite, type SuiteResults } from './suite.js';
import type { ContentionOptions } from './types.js';
import { WORKLOADS, WORKLOAD_NAMES } from './workloads/index.js';
import { DEFAULT_OUT, MAX_WORKERS, UsageError, existingFile, intListIn, listOf, numberIn, oneOf, outDir, parseOptions, parseOrExit, stem, uniqueStem, usageLine, wantsHelp } from '../cli/args.js';

export const BENCH_USAGE = `usage: sabmalloc bench [options]
Contention benchmark suite: allocator workloads on 1..64 workers, sabmalloc against a
global-lock baseline and @thi.ng/malloc behind a lock. Writes a Markdown report, SVG charts
and the JSON of every figure.

  --quick                about a minute: workers 1,2,4, 3 reps of 100 ms windows (after an
                         untimed warm-up), fewer allocators
  --no-micro             skip the micro benchmarks that run first (about 20 s)
  --workers 1,2,4,...    worker counts, 1..${MAX_WORKERS} (default 1,2,4,8,16,32; quick 1,2,4)
  --workloads a,b,...    of ${WORKLOAD_NAMES.join(',')} (default all)
  --allocators a,b,...   default ${DEFAULT_ALLOCATORS.join(',')}
                         (quick: ${QUICK_ALLOCATORS.join(',')}); also sabmalloc-<central>-<pageheap>
                         for any lock kinds, locks-all (every kind on both tiers), locks-matrix
  --duration MS          timed window of each run (default 200; quick 100)
  --reps N               repetitions per point, median and interval reported (default 3; quick 3)
  --targets              also judge the project's own acceptance targets (only those the run
                         covers: every workload, worker count and allocator each is defined over)
  --param w.key=value    workload parameter, an integer >= 1, repeatable (e.g. --param
                         larson.slots=1000); keys: ${WORKLOADS.map((w) => `${w.name}: ${Object.keys(w.defaults).join(',')}`).join('; ')}
  --seed N               random seed (default 1)
  --out DIR              results directory (default bench/results, relative to the working
                         directory): <stem>.json, .csv, .md, charts, micro.json/.md
  --no-write             write no file at all
  --name STEM            file name stem (default contention; quick contention-quick-<time>, and
                         micro-quick for the micro benchmarks; --from-json: <its stem>-replot)
  --touch sparse|full    how much of each block is written and checked (default sparse:
                         blocks > 128 B get one word per 64 B; full: every word)
  --prealloc             create sabmalloc heaps at full size (no growth during runs)
  --no-check             skip the heap check after each run
  --no-warmup            skip the warm-up run per (allocator, workload)
  --fail-fast            stop at the first failed run
  --note TEXT            a paragraph for the top of the report (why the run was made this way)
  --from-json FILE       re-render the report, charts and CSV from saved results (no run)
  --allocator-module F   your own allocator (an ES module implementing the adapter interface
                         of bench/contention/adapters/module.ts; repeatable): measured next
                         to the others (example: bench/examples/pow2-allocator.js)
  --dry-run              parse and check every argument (and load the modules), run nothing
  --json                 print the results JSON on stdout instead of the summary table`;

export interface BenchCommandOptions {
  suite: ContentionOptions & { failFast?: boolean };
  outDir: string | null;
  stem: string;
  json: boolean;
  micro: boolean;
  note?: string;
  /** the saved results named by --from-json, already read and parsed */
  fromJson?: SuiteResults;
  /** --allocator-module files (checked to exist; loaded by prepareBench) */
  allocatorModules: string[];
  dryRun: boolean;
  /** print and report the project's own acceptance targets */
  targets: boolean;
}

const BENCH_OPTIONS = {
  targets: { type: 'boolean' },
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
  'no-micro': { type: 'boolean' },
  'fail-fast': { type: 'boolean' },
  json: { type: 'boolean' },
  note: { type: 'string' },
  'from-json': { type: 'string' },
  'allocator-module': { type: 'string', multiple: true },
  'dry-run': { type: 'boolean' },
} as const;

/** Largest value any workload parameter may take (counts and byte sizes). */
const PARAM_MAX = 1 << 24;

/** --param w.key=value: the workload and key must exist, the value an integer 1..PARAM_MAX. */
function parseParams(raw: readonly string[]): Record<string, Record<string, number>> {
  const params: Record<string, Record<string, number>> = {};
  for (const p of raw) {
    const m = /^([a-z-]+)\.([A-Za-z]+)=(.*)$/.exec(p);
    if (!m) throw new UsageError(`bad --param '${p}': expected workload.key=value`);
    const [, workload, key, value] = m as unknown as [string, string, string, string];
    const def = WORKLOADS.find((w) => w.name === workload);
    if (!def) throw new UsageError(`bad --param '${p}': unknown workload '${workload}' (known: ${WORKLOAD_NAMES.join(', ')})`);
    if (!Object.hasOwn(def.defaults, key)) {
      throw new UsageError(`bad --param '${p}': ${workload} has no parameter '${key}' (known: ${Object.keys(def.defaults).join(', ')})`);
    }
    (params[workload] ??= {})[key] = numberIn(value, `--param ${workload}.${key}`, 1, PARAM_MAX)!;
  }
  for (const [workload, ps] of Object.entries(params)) {
    const def = WORKLOADS.find((w) => w.name === workload)!;
    const merged = { ...def.defaults, ...ps } as Record<string, number>;
    if ('minSize' in merged && 'maxSize' in merged && merged.minSize! > merged.maxSize!) {
      throw new UsageError(`bad --param: ${workload}.minSize ${merged.minSize} > ${workload}.maxSize ${merged.maxSize}`);
    }
  }
  return params;
}

/** --from-json FILE: must exist and hold a contention suite's results. */
function readResults(file: string, what: string): SuiteResults {
  existingFile(file, what);
  let r: SuiteResults;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as SuiteResults;
  } catch (e) {
    throw new UsageError(`${what} '${file}': not JSON (${firstLineOf(e)})`);
  }
  if (!r || !Array.isArray(r.runs) || !r.meta?.options) throw new UsageError(`${what} '${file}': not the JSON of a 'sabmalloc bench' run`);
  return r;
}

function firstLineOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

/** Parses and validates every argument; throws UsageError. Does no work. */
export function parseBenchArgs(argv: readonly string[]): BenchCommandOptions {
  const { values } = parseOptions(argv, BENCH_OPTIONS);
  const workloads = listOf(values.workloads, '--workloads');
  for (const w of workloads ?? []) if (!WORKLOAD_NAMES.includes(w)) throw new UsageError(`unknown workload '${w}' (known: ${WORKLOAD_NAMES.join(', ')})`);
  const allocatorModules = (values['allocator-module'] ?? []).map((f) => existingFile(f, '--allocator-module')!);
  const allocators = listOf(values.allocators, '--allocators');
  // with modules, the list may name their ids: checked once they are loaded (prepareBench)
  if (allocators && allocatorModules.length === 0) {
    try {
      expandAllocatorIds(allocators);
    } catch (e) {
      throw new UsageError(firstLineOf(e));
    }
  }
  const quick = values.quick ?? false;
  const fromJson = values['from-json'] === undefined ? undefined : readResults(values['from-json'], '--from-json');
  return {
    suite: {
      quick,
      workers: intListIn(values.workers, '--workers', 1, MAX_WORKERS),
      workloads,
      allocators,
      durationMs: numberIn(values.duration, '--duration', 1, 600_000),
      reps: numberIn(values.reps, '--reps', 1, 1000),
      params: parseParams(values.param ?? []),
      seed: numberIn(values.seed, '--seed', 0, 2 ** 31 - 1),
      check: !values['no-check'],
      preallocate: values.prealloc ?? false,
      touch: oneOf(values.touch, '--touch', ['full', 'sparse'] as const),
      warmup: !values['no-warmup'],
      failFast: values['fail-fast'] ?? false,
      progress: true,
    },
    outDir: outDir(values.out, values['no-write'], DEFAULT_OUT),
    stem:
      stem(values.name, '--name') ??
      (values['from-json'] !== undefined ? `${path.basename(values['from-json']).replace(/\.json$/i, '')}-replot` : quick ? uniqueStem('contention-quick') : 'contention'),
    targets: values.targets ?? false,
    json: values.json ?? false,
    micro: !values['no-micro'] && fromJson === undefined,
    note: values.note,
    fromJson,
    allocatorModules,
    dryRun: values['dry-run'] ?? false,
  };
}

/**
 * The asynchronous part of validation: loads the --allocator-module files (checking their
 * exports), adds their ids to the allocator list and checks the whole list; registers the
 * allocators a --from-json file names that are not built in. Throws UsageError. Runs no
 * benchmark.
 */
export async function prepareBench(opts: BenchCommandOptions): Promise<void> {
  const ids: string[] = [];
  for (const file of opts.allocatorModules) {
    try {
      ids.push((await loadAllocatorModule(file)).id);
    } catch (e) {
      throw new UsageError(firstLineOf(e));
    }
  }
  if (ids.length > 0) {
    const list = [...(opts.suite.allocators ?? (opts.suite.quick ? QUICK_ALLOCATORS : DEFAULT_ALLOCATORS))];
    for (const id of ids) if (!list.includes(id)) list.push(id);
    try {
      expandAllocatorIds(list);
    } catch (e) {
      throw new UsageError(firstLineOf(e));
    }
    opts.suite.allocators = list;
  }
  if (opts.fromJson) {
    const labels = opts.fromJson.meta.allocatorLabels ?? {};
    for (const id of opts.fromJson.meta.options.allocators) {
      try {
        allocatorSpec(id);
      } catch {
        registerAllocatorSpec({ id, label: labels[id] ?? id, family: 'module' }); // a user's allocator of that run
      }
    }
  }
}

/**
 * Runs `sabmalloc bench` for `argv` (the arguments after `bench`); returns the exit code.
 * Bad arguments: one line on stderr and exit code 2, before anything runs.
 */
/** What `sabmalloc bench` runs before the suite (the micro benchmarks: cli/main.ts passes them in, so this tool imports no other). */
export type BenchPrelude = (o: { quick: boolean; command: string; outDir: string | null; name: string; targets: boolean }) => Promise<unknown>;

export async function benchCommand(argv: readonly string[], prelude?: BenchPrelude): Promise<number> {
  if (wantsHelp(argv)) {
    console.log(BENCH_USAGE);
    return 0;
  }
  const r = parseOrExit('bench', () => parseBenchArgs(argv));
  if ('code' in r) return r.code;
  const opts = r.ok;
  try {
    await prepareBench(opts);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(usageLine('bench', e.message));
    return 2;
  }
  if (opts.dryRun) {
    console.log(`sabmalloc bench: arguments OK; dry run, nothing run or written`);
    return 0;
  }
  const command = `sabmalloc bench${argv.length ? ` ${argv.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}` : ''}`;
  if (opts.micro && prelude !== undefined) {
    process.stderr.write('sabmalloc bench: micro benchmarks (malloc+free pair, random churn)\n');
    await prelude({ quick: opts.suite.quick ?? false, command, outDir: opts.outDir, name: opts.suite.quick ? 'micro-quick' : 'micro', targets: opts.targets });
  }
  let results: SuiteResults;
  if (opts.fromJson) {
    results = recomputeResults(opts.fromJson);
  } else {
    try {
      results = await runContentionSuite(opts.suite);
    } catch (err) {
      console.error(`sabmalloc bench: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return 1;
    }
    results.meta.command = command;
  }
  if (opts.note) results.meta.note = opts.note;
  if (opts.outDir !== null) {
    const files = await writeReport(results, opts.outDir, opts.stem, opts.targets);
    files.push(...writeResultsCsv(results, opts.outDir, opts.stem));
    console.error(`wrote ${files.length} files under ${opts.outDir}:\n${files.map((f) => `  ${f}`).join('\n')}`);
  }
  if (opts.json) console.log(JSON.stringify(results, null, 1));
  else console.log(formatSummary(results, opts.targets));
  const code = results.failures.length > 0 ? 1 : 0;
  if (code !== 0) console.error(`sabmalloc bench: ${results.failures.length} run(s) FAILED (see above and the report)`);
  return code;
}
