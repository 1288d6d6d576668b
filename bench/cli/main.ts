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
 *   sabmalloc memory replay|breakdown  where the memory goes (blowup replays, peak split)
 *   sabmalloc sizeclasses [--page-size N]  the size-class table
 *
 * Rules every command keeps: `--help` prints and runs nothing; all arguments are parsed
 * and validated before any work, and bad input is one line on stderr with exit code 2;
 * files are written only under --out (default bench/results) and never with --no-write.
 * This module only dispatches: each command lives with its tool (bench/<tool>/command.ts),
 * loaded only when asked for, so `sabmalloc sizeclasses` does not load piscina or the chart
 * library.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const USAGE = `usage: sabmalloc <command> [options]

commands:
  bench        the main job: malloc/free micro benchmarks, then the contention suite
               (allocator workloads on 1..64 workers against baselines; report, CSV and
               charts under bench/results/). --quick finishes in about a minute.
  micro        the malloc/free micro benchmarks only
  locks        the lock lab benchmark (every lock kind, 1..64 workers)
  stress       the stress tester (many workers, content verification)
  compare      two saved runs (bench or locks) point by point: change, interval, test verdict
  memory       where the memory goes: 'memory replay <mstress|larson>' (deterministic
               blowup replays) and 'memory breakdown' (the committed peak, split)
  sizeclasses  print the size-class table
  build-peers  build the Zig peers of the contention suite (fetches Zig from npm into .cache/zig)
  help         this text; 'sabmalloc <command> --help' for a command's options

  --version    print the version`;

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

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'bench': {
      // the main job: the micro benchmarks, then the contention suite
      const { benchCommand } = await import('../contention/command.js');
      return benchCommand(rest, async (o) => (await import('../micro/micro.js')).runMicroBench(o));
    }
    case 'micro': {
      const { microCommand } = await import('../micro/command.js');
      return microCommand(rest);
    }
    case 'locks': {
      const { runLocksCommand } = await import('../locks/command.js');
      return runLocksCommand(rest);
    }
    case 'stress': {
      const { stressCommand } = await import('../stress/command.js');
      return stressCommand(rest);
    }
    case 'compare': {
      const { compareCommand } = await import('../contention/compare.js');
      return compareCommand(rest);
    }
    case 'memory': {
      const { memoryCommand } = await import('../memory/command.js');
      return memoryCommand(rest);
    }
    case 'build-peers': {
      const { buildPeersCommand } = await import('../contention/peers/build.js');
      return buildPeersCommand(rest);
    }
    case 'sizeclasses': {
      const { sizeClassesCommand } = await import('../memory/command.js');
      return sizeClassesCommand(rest);
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
