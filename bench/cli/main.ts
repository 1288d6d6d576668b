#!/usr/bin/env node
/**
 * The `sabmalloc` command line: one entry point for the project's jobs.
 *
 *   sabmalloc bench [--quick] ...   the main job: micro benchmarks + the contention suite
 *   sabmalloc micro [--quick]       the malloc/free micro benchmarks only (tinybench)
 *   sabmalloc locks [--quick] ...   the lock lab's benchmark
 *   sabmalloc stress ...            the stress tester (64 workers by default)
 *   sabmalloc sizeclasses [--page-size N]  the size-class table
 *
 * Each command lives in its own module, loaded only when asked for, so `sabmalloc
 * sizeclasses` does not load piscina or the chart library.
 */

const USAGE = `usage: sabmalloc <command> [options]

commands:
  bench        the main job: malloc/free micro benchmarks, then the contention suite
               (allocator workloads on 1..64 workers against baselines; report and charts
               under bench/results/). --quick finishes in about a minute.
  micro        the malloc/free micro benchmarks only
  locks        the lock lab benchmark (every lock kind, 1..64 workers)
  stress       the stress tester (many workers, content verification)
  sizeclasses  print the size-class table
  help         this text; 'sabmalloc <command> --help' for a command's options`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'bench': {
      if (rest.includes('--help') || rest.includes('-h')) {
        const { BENCH_USAGE } = await import('./bench-command.js');
        console.log(BENCH_USAGE);
        return 0;
      }
      const quick = rest.includes('--quick');
      const micro = await import('../micro.js');
      process.stderr.write('sabmalloc bench: micro benchmarks (malloc+free pair, random churn)\n');
      micro.printMicro(await micro.runMicroBench({ quick, command: `npx sabmalloc bench${quick ? ' --quick' : ''}` }));
      const { benchCommand } = await import('./bench-command.js');
      return benchCommand(rest);
    }
    case 'micro': {
      const micro = await import('../micro.js');
      const quick = rest.includes('--quick');
      micro.printMicro(await micro.runMicroBench({ quick, command: `npx sabmalloc micro${quick ? ' --quick' : ''}` }));
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
    case 'sizeclasses': {
      const { printSizeClasses } = await import('../sizeclasses.js');
      const i = rest.indexOf('--page-size');
      printSizeClasses(i >= 0 ? Number(rest[i + 1]) : 8192);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`sabmalloc: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
