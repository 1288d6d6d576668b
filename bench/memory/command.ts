/**
 * `sabmalloc memory` and `sabmalloc sizeclasses`: argument parsing for the memory tools.
 *
 *   sabmalloc memory replay <mstress|larson> [--seeds N] [--iters N] [--detail]
 *   sabmalloc memory breakdown [--workloads W] [--workers N,..] [--reps N]
 *   sabmalloc memory rss [--patterns P,..] [--workers 1-8] ... (rss.ts parses its own options)
 *   sabmalloc sizeclasses [--page-size N]
 *
 * Every argument is checked before any work (bench/cli/args.ts); the tools are loaded only
 * when asked for.
 */
import { MAX_WORKERS, UsageError, intListIn, listOf, numberIn, oneOf, parseOptions, parseOrExit, wantsHelp } from '../cli/args.js';

const MEMORY_USAGE = `usage: sabmalloc memory <replay|breakdown|rss> [options]
Where sabmalloc's memory goes (blowup = committed bytes / peak live bytes).

  sabmalloc memory replay <mstress|larson> [--seeds N] [--iters N] [--detail]
      deterministic single-thread replays of the suite's mstress / larson at one worker:
      blowup per seed, the same operations for every build (defaults: mstress 24 seeds x
      80000 iterations, larson 3 seeds x 1600000); --detail (mstress) prints the request
      that last raised the high-water mark, and the heap's split at that moment
  sabmalloc memory breakdown [--workloads W] [--workers N,..] [--reps N]
      contention-suite runs of sabmalloc (default mstress on 1,2 workers, 3 reps): the
      committed bytes at each run's peak split into metadata, live blocks, caches, free
      objects in partly used spans, span tails and free spans
  sabmalloc memory rss [--patterns churn,larson,mstress,phase] [--workers 1-8] [--reps N]
        [--live-mib 24] [--ops N] [--seed N] [--budget-mib N] [--thread-budget-mib N]
        [--page-size N] [--json]
      peak resident-set growth of a fresh process per pattern and worker count (from the
      OS: VmHWM - VmRSS before the heap existed) over the peak live bytes, next to the
      heap's committed bytes and its memoryReport() breakdown`;

const SIZECLASSES_USAGE = `usage: sabmalloc sizeclasses [--page-size N]
Prints the size-class table for a page size.

  --page-size N  page size in bytes, a power of two from 4096 to 65536 (default 8192)`;

const REPLAY_OPTIONS = { seeds: { type: 'string' }, iters: { type: 'string' }, detail: { type: 'boolean' } } as const;
const BREAKDOWN_OPTIONS = { workloads: { type: 'string' }, workers: { type: 'string' }, reps: { type: 'string' } } as const;

type MemoryJob =
  | { job: 'replay'; workload: 'mstress' | 'larson'; seeds?: number; iters?: number; detail: boolean }
  | { job: 'breakdown'; workloads: string[]; workers: number[]; reps: number };

export function parseMemoryArgs(argv: readonly string[]): MemoryJob {
  const [job, ...rest] = argv;
  if (job === 'replay') {
    const { values, positionals } = parseOptions(rest, REPLAY_OPTIONS, 1);
    const workload = oneOf(positionals[0], 'workload', ['mstress', 'larson'] as const);
    if (workload === undefined) throw new UsageError('replay needs a workload: mstress or larson');
    const seeds = numberIn(values.seeds, '--seeds', 1, 10_000);
    const iters = numberIn(values.iters, '--iters', 1, 1e9);
    return { job, workload, seeds, iters, detail: values.detail ?? false };
  }
  if (job === 'breakdown') {
    const { values } = parseOptions(rest, BREAKDOWN_OPTIONS);
    const workloads = listOf(values.workloads, '--workloads') ?? ['mstress'];
    const workers = intListIn(values.workers, '--workers', 1, MAX_WORKERS) ?? [1, 2];
    const reps = numberIn(values.reps, '--reps', 1, 1000) ?? 3;
    return { job, workloads, workers, reps };
  }
  throw new UsageError(job === undefined ? 'missing the job: replay, breakdown or rss' : `unknown job '${job}': replay, breakdown or rss`);
}

export async function memoryCommand(argv: readonly string[]): Promise<number> {
  if (wantsHelp(argv)) return help(MEMORY_USAGE);
  if (argv[0] === 'rss') {
    const { runRss } = await import('./rss.js');
    return runRss(argv.slice(1));
  }
  const p = parseOrExit('memory', () => parseMemoryArgs(argv));
  if ('code' in p) return p.code;
  const job = p.ok;
  if (job.job === 'breakdown') {
    const { printBreakdown } = await import('./breakdown.js');
    return (await printBreakdown(job)) ? 0 : 1;
  }
  const { REPLAY_DEFAULTS, replayLarson, replayMstress } = await import('./blowup-replay.js');
  const d = REPLAY_DEFAULTS[job.workload];
  const options = { seeds: job.seeds ?? d.seeds, iters: job.iters ?? d.iters, detail: job.detail };
  if (job.workload === 'mstress') replayMstress(options);
  else replayLarson(options);
  return 0;
}

function parsePageSize(argv: readonly string[]): number {
  const { values } = parseOptions(argv, { 'page-size': { type: 'string' } } as const);
  const n = numberIn(values['page-size'], '--page-size', 4096, 65536) ?? 8192;
  if ((n & (n - 1)) !== 0) throw new UsageError(`bad --page-size '${values['page-size']}': not a power of two`);
  return n;
}

export async function sizeClassesCommand(argv: readonly string[]): Promise<number> {
  if (wantsHelp(argv)) return help(SIZECLASSES_USAGE);
  const p = parseOrExit('sizeclasses', () => parsePageSize(argv));
  if ('code' in p) return p.code;
  const { printSizeClasses } = await import('./sizeclasses.js');
  printSizeClasses(p.ok);
  return 0;
}

function help(text: string): number {
  console.log(text);
  return 0;
}
