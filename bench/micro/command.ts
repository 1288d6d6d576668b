/**
 * `sabmalloc micro`: argument parsing for the single-thread micro benchmarks (micro.ts).
 * Every argument is checked before any work (bench/cli/args.ts).
 */
import { join } from 'node:path';
import { DEFAULT_OUT, outDir, parseOptions, parseOrExit, stem, wantsHelp } from '../cli/args.js';

const MICRO_USAGE = `usage: sabmalloc micro [options]
Single-thread malloc/free micro benchmarks (tinybench): sabmalloc's fast path, @thi.ng/malloc,
a bare free-list floor, random churn, user access. About 80 s on an idle 2-core machine
(--quick: about 6 s).

  --quick        a smoke run: short sampling, 3 interleaved rounds in this process after
                 tinybench's warm-up, the own-isolate contenders in one of them, user
                 access through views only
  --targets      also show the project's own targets and their status beside the ratios
  --out DIR      results directory (default bench/results, relative to the working directory)
  --no-write     write no file at all
  --name STEM    file name stem (default micro; quick micro-quick)
  --dry-run      parse and check every argument, run nothing`;

const MICRO_OPTIONS = { quick: { type: 'boolean' }, targets: { type: 'boolean' }, out: { type: 'string' }, 'no-write': { type: 'boolean' }, name: { type: 'string' }, 'dry-run': { type: 'boolean' } } as const;

function parseMicroArgs(argv: readonly string[]): { quick: boolean; targets: boolean; outDir: string | null; name: string; dryRun: boolean } {
  const { values } = parseOptions(argv, MICRO_OPTIONS);
  const quick = values.quick ?? false;
  const name = stem(values.name, '--name') ?? (quick ? 'micro-quick' : 'micro');
  return { quick, targets: values.targets ?? false, outDir: outDir(values.out, values['no-write'], DEFAULT_OUT), name, dryRun: values['dry-run'] ?? false };
}

export async function microCommand(argv: readonly string[]): Promise<number> {
  if (wantsHelp(argv)) {
    console.log(MICRO_USAGE);
    return 0;
  }
  const p = parseOrExit('micro', () => parseMicroArgs(argv));
  if ('code' in p) return p.code;
  if (p.ok.dryRun) {
    console.log('sabmalloc micro: arguments OK; dry run, nothing run or written');
    return 0;
  }
  const { runMicroBench } = await import('./micro.js');
  await runMicroBench({ ...p.ok, command: `sabmalloc micro ${argv.join(' ')}`.trim() });
  if (p.ok.outDir !== null) console.error(`wrote ${join(p.ok.outDir, `${p.ok.name}.json`)} and ${p.ok.name}.md`);
  return 0;
}
