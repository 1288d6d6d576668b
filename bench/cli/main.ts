/**
 * The `sabmalloc` command line of the lab: one entry point for the project's jobs. It runs
 * from a clone of the repository (`npx sabmalloc ...` after `npm ci`, through the
 * bench/cli workspace's bin, or `npm run lab -- ...`); it is not part of the published
 * package, which holds only the allocator (src/).
 *
 *   sabmalloc bench [--quick] ...   the main job: micro benchmarks + the contention suite
 *   sabmalloc micro [--quick]       the malloc/free micro benchmarks only (tinybench)
 *   sabmalloc locks [--quick] ...   the lock lab's benchmark
 *   sabmalloc stress ...            the stress tester (64 workers by default)
 *   sabmalloc compare A.json B.json two saved runs (bench or locks) point by point
 *   sabmalloc sizeclasses [--page-size N]  the size-class table
 *
 * Rules every command keeps: `--help` prints and runs nothing; all arguments are parsed
 * and validated before any work, and bad input is one line on stderr with exit code 2;
 * files are written only under --out (default bench/results) and never with --no-write.
 * Each command lives in its own module, loaded only when asked for, so `sabmalloc
 * sizeclasses` does not load piscina or the chart library.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_OUT, UsageError, numberIn, outDir, parseOptions, parseOrExit, stem, wantsHelp } from './args.js';

const USAGE = `usage: sabmalloc <command> [options]

commands:
  bench        the main job: malloc/free micro benchmarks, then the contention suite
               (allocator workloads on 1..64 workers against baselines; report, CSV and
               charts under bench/results/). --quick finishes in about a minute.
  micro        the malloc/free micro benchmarks only
  locks        the lock lab benchmark (every lock kind, 1..64 workers)
  stress       the stress tester (many workers, content verification)
  compare      two saved runs (bench or locks) point by point: change, interval, test verdict
  sizeclasses  print the size-class table
  help         this text; 'sabmalloc <command> --help' for a command's options

  --version    print the version`;

const MICRO_USAGE = `usage: sabmalloc micro [options]
Single-thread malloc/free micro benchmarks (tinybench): sabmalloc's fast path, @thi.ng/malloc,
a bare free-list floor, random churn. About 20 s (--quick: a few seconds).

  --quick        short sampling, one round
  --out DIR      results directory (default bench/results, relative to the working directory)
  --no-write     write no file at all
  --name STEM    file name stem (default micro; quick micro-quick)
  --dry-run      parse and check every argument, run nothing`;

const SIZECLASSES_USAGE = `usage: sabmalloc sizeclasses [--page-size N]
Prints the size-class table for a page size.

  --page-size N  page size in bytes, a power of two from 4096 to 65536 (default 8192)`;

/** The repository's package.json (the one named sabmalloc above this file). */
function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sabmalloc') return pkg.version ?? 'unknown';
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

const MICRO_OPTIONS = { quick: { type: 'boolean' }, out: { type: 'string' }, 'no-write': { type: 'boolean' }, name: { type: 'string' }, 'dry-run': { type: 'boolean' } } as const;

function parseMicroArgs(argv: readonly string[]): { quick: boolean; outDir: string | null; name: string; dryRun: boolean } {
  const { values } = parseOptions(argv, MICRO_OPTIONS);
  const quick = values.quick ?? false;
  const name = stem(values.name, '--name') ?? (quick ? 'micro-quick' : 'micro');
  return { quick, outDir: outDir(values.out, values['no-write'], DEFAULT_OUT), name, dryRun: values['dry-run'] ?? false };
}

function parsePageSize(argv: readonly string[]): number {
  const { values } = parseOptions(argv, { 'page-size': { type: 'string' } } as const);
  const n = numberIn(values['page-size'], '--page-size', 4096, 65536) ?? 8192;
  if ((n & (n - 1)) !== 0) throw new UsageError(`bad --page-size '${values['page-size']}': not a power of two`);
  return n;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'bench': {
      const { benchCommand } = await import('./bench-command.js');
      return benchCommand(rest);
    }
    case 'micro': {
      if (wantsHelp(rest)) return help(MICRO_USAGE);
      const p = parseOrExit('micro', () => parseMicroArgs(rest));
      if ('code' in p) return p.code;
      if (p.ok.dryRun) return help('sabmalloc micro: arguments OK; dry run, nothing run or written');
      const { runMicroBench } = await import('../micro.js');
      await runMicroBench({ ...p.ok, command: `sabmalloc micro ${rest.join(' ')}`.trim() });
      if (p.ok.outDir !== null) console.error(`wrote ${join(p.ok.outDir, `${p.ok.name}.json`)} and ${p.ok.name}.md`);
      return 0;
    }
    case 'locks': {
      const { runLocksCommand } = await import('./locks-command.js');
      return runLocksCommand(rest);
    }
    case 'stress': {
      const { stressCommand } = await import('./stress-command.js');
      return stressCommand(rest);
    }
    case 'compare': {
      const { compareCommand } = await import('../contention/compare.js');
      return compareCommand(rest);
    }
    case 'sizeclasses': {
      if (wantsHelp(rest)) return help(SIZECLASSES_USAGE);
      const p = parseOrExit('sizeclasses', () => parsePageSize(rest));
      if ('code' in p) return p.code;
      const { printSizeClasses } = await import('../sizeclasses.js');
      printSizeClasses(p.ok);
      return 0;
    }
    case '--version':
    case '-v':
    case 'version':
      console.log(version());
      return 0;
    case 'help':
    case '--help':
    case '-h':
      return help(USAGE);
    case undefined:
      console.error(USAGE);
      return 2;
    default:
      console.error(`sabmalloc: unknown command '${command}' (see 'sabmalloc --help')`);
      return 2;
  }
}

function help(text: string): number {
  console.log(text);
  return 0;
}

/** Runs the command line and sets the process exit code (the bin and `node main.js`). */
export function run(argv: readonly string[]): Promise<void> {
  return main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exitCode = 1;
    },
  );
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await run(process.argv.slice(2));
