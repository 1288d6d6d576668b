/**
 * `sabmalloc stress`: argument parsing and printing for the stress tester (bench/stress/run.ts).
 *
 * Owns: the mapping from argv to StressOptions and from the outcome to an exit code:
 * 0 = zero failures, 1 = a failure (lost, duplicated, overlapping or corrupted block, leak,
 * check() failure, hang; in the racing-misuse mode also a race released twice or by nobody,
 * or an unexpected error), 2 = bad arguments (a UsageError thrown by parseStressArgs before
 * anything runs). Progress goes to stderr, the summary to stdout, a file only with --out.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import { LOCK_KINDS, type LockKind } from '../../src/locks/index.js';
import { formatProgress, formatSummary, RACE_SIZES, resolveStressOptions, runStress, type RaceSize, type StressOptions, type StressSummary } from './run.js';
import { UsageError, numberIn, oneOf, parseOptions, parseOrExit, wantsHelp } from '../cli/args.js';

export const STRESS_USAGE = `usage: sabmalloc stress [options]
Stress tester: many workers malloc, free and realloc on one shared heap, every block's content
verified, remote frees, optional kills and racing misuse; exit 1 on any corruption or hang.

  --quick                 8 workers x 2000 operations (seconds), unless --workers/--ops say otherwise
  --workers N             worker threads (default 64)
  --ops N                 operations per worker per round (default 8000)
  --duration S            run each round's work for S seconds instead of --ops
  --sizes small|mixed|large
                          size mix (default mixed; large goes up to 6 MiB)
  --remote-free-rate R    fraction of frees through the shared hand-off array,
                          which frees another worker's block (default 0.5)
  --realloc-rate R        fraction of operations that are reallocs (default 0.05)
  --central-lock KIND     central-cache lock (default ttas)
  --page-heap-lock KIND   page-heap lock (default futex); kinds: ${LOCK_KINDS.join(', ')}
  --heap-size SIZE        initial heap, e.g. 256M, 1G (default by --sizes: 64M / 256M / 768M)
  --max-heap-size SIZE    > heap size makes the heap growable
  --prealloc              grow a growable heap to its maximum before the workers start
  --seed N                run seed (default random; printed, every run replays from it)
  --rounds N              rounds on the same heap, fresh workers each (default 1)
  --soak MINUTES          repeat rounds until MINUTES have passed
  --local-cap N           blocks each worker keeps (default 32; large: 12)
  --handoff-slots N       slots of the hand-off array (default 2 x workers)
  --kill-rate R           probability that each worker is terminated at a random moment of
                          a round; the main thread then calls heap.recover(threadId), which
                          releases a dead holder's locks and passes over a dead waiter's
                          ticket or queue node (limits: docs/design.md, "Crash consistency and recovery")
  --misuse                racing-misuse mode: groups of 2..8 workers free the same block at
                          once, or race a free against a realloc of it, while a watchdog
                          thread runs check({ quiescent: false }); counts the expected typed
                          errors, requires 0 undetected races, 0 corruption, 0 hangs.
                          --ops counts phases (default 300); --realloc-rate is the share of
                          free-vs-realloc phases (default 0.5); heap: debug by default
  --default-heap          misuse mode on a default heap (not debug): races large and huge
                          blocks only, unless --race-sizes says otherwise
  --race-sizes LIST       of small,medium,large,huge (<= 1 KiB, 256 KiB, 1 MiB, 6 MiB)
  --race-width N          widest racing group (default 8)
  --hang-ms MS            a barrier or check() call longer than this is a hang (default 60000)
  --out FILE              also write the summary as markdown to FILE
  --json                  print the summary as JSON instead of text
  --quiet                 no progress lines
  --dry-run               parse and check every argument, run nothing`;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** "256M", "1.5G", "1048576" -> bytes. */
export function parseSize(s: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(s);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`bad ${what}: ${s} (e.g. 256M, 1G)`);
  return Math.round(Number(m[1]) * unit);
}

function num(s: string | undefined, what: string, integer = false): number | undefined {
  return numberIn(s, what, integer ? 0 : -Infinity, Number.MAX_SAFE_INTEGER, integer);
}

function lockKind(s: string | undefined, what: string): LockKind | undefined {
  return oneOf(s, what, LOCK_KINDS);
}

function raceSizes(s: string): RaceSize[] {
  const xs = s.split(',').map((x) => x.trim());
  for (const x of xs) if (!RACE_SIZES.includes(x as RaceSize)) throw new UsageError(`bad --race-sizes: ${x} (of ${RACE_SIZES.join(', ')})`);
  return xs as RaceSize[];
}

export interface ParsedStressArgs {
  dryRun: boolean;
  options: StressOptions;
  out: string | undefined;
  json: boolean;
  quiet: boolean;
}

const STRESS_OPTIONS = {
  workers: { type: 'string' },
  ops: { type: 'string' },
  duration: { type: 'string' },
  sizes: { type: 'string' },
  'remote-free-rate': { type: 'string' },
  'realloc-rate': { type: 'string' },
  'central-lock': { type: 'string' },
  'page-heap-lock': { type: 'string' },
  'heap-size': { type: 'string' },
  'max-heap-size': { type: 'string' },
  seed: { type: 'string' },
  rounds: { type: 'string' },
  quick: { type: 'boolean' },
  soak: { type: 'string' },
  'local-cap': { type: 'string' },
  'handoff-slots': { type: 'string' },
  'kill-rate': { type: 'string' },
  prealloc: { type: 'boolean' },
  misuse: { type: 'boolean' },
  'default-heap': { type: 'boolean' },
  'race-sizes': { type: 'string' },
  'race-width': { type: 'string' },
  'hang-ms': { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
} as const;

/**
 * Parses and validates every argument (ranges through resolveStressOptions, the same rules
 * runStress applies); throws UsageError. Does no work.
 */
export function parseStressArgs(argv: readonly string[]): ParsedStressArgs {
  const { values } = parseOptions(argv, STRESS_OPTIONS);
  if (values.ops !== undefined && values.duration !== undefined) throw new UsageError('give --ops or --duration, not both');
  const sizes = oneOf(values.sizes, '--sizes', ['small', 'mixed', 'large'] as const);
  if (values.out === '') throw new UsageError('bad --out: empty path');
  const central = lockKind(values['central-lock'], '--central-lock');
  const pageHeap = lockKind(values['page-heap-lock'], '--page-heap-lock');
  const options: StressOptions = {
    workers: num(values.workers, '--workers', true),
    ops: num(values.ops, '--ops', true),
    durationSec: num(values.duration, '--duration'),
    sizes: sizes as StressOptions['sizes'],
    remoteFreeRate: num(values['remote-free-rate'], '--remote-free-rate'),
    reallocRate: num(values['realloc-rate'], '--realloc-rate'),
    locks: central || pageHeap ? { central, pageHeap } : undefined,
    heapSize: values['heap-size'] === undefined ? undefined : parseSize(values['heap-size'], '--heap-size'),
    maxHeapSize: values['max-heap-size'] === undefined ? undefined : parseSize(values['max-heap-size'], '--max-heap-size'),
    seed: num(values.seed, '--seed', true),
    rounds: num(values.rounds, '--rounds', true),
    soakMinutes: num(values.soak, '--soak'),
    localCap: num(values['local-cap'], '--local-cap', true),
    handoffSlots: num(values['handoff-slots'], '--handoff-slots', true),
    killRate: num(values['kill-rate'], '--kill-rate'),
    preallocate: values.prealloc,
    misuse: values.misuse,
    debug: values['default-heap'] ? false : undefined,
    raceSizes: values['race-sizes'] === undefined ? undefined : raceSizes(values['race-sizes']),
    raceWidth: num(values['race-width'], '--race-width', true),
    hangMs: num(values['hang-ms'], '--hang-ms'),
  };
  if ((values['default-heap'] || values['race-sizes'] !== undefined || values['race-width'] !== undefined) && !values.misuse) {
    throw new UsageError('--default-heap, --race-sizes and --race-width need --misuse');
  }
  if (values.quick) {
    options.workers ??= 8;
    if (options.durationSec === undefined) options.ops ??= 2000;
  }
  // A growable heap given only --max-heap-size starts at the default size.
  for (const k of Object.keys(options) as (keyof StressOptions)[]) if (options[k] === undefined) delete options[k];
  try {
    resolveStressOptions(options);
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  return {
    dryRun: values['dry-run'] ?? false,
    options,
    out: values.out,
    json: values.json ?? false,
    quiet: values.quiet ?? false,
  };
}

/** The summary as a markdown section (bench/results/stress.md). */
export function summaryMarkdown(s: StressSummary, command: string): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return [
    '### Stress run (`sabmalloc stress`, `bench/stress/run.ts`)',
    '',
    `Command: \`${command}\``,
    '',
    `Machine: ${os.cpus().length} cores (${cpu}), Node ${process.versions.node}, ${os.platform()}/${os.arch()}, load average ${os.loadavg()[0]!.toFixed(1)} at the end; ${new Date().toISOString().slice(0, 10)}.`,
    '',
    '```',
    ...formatSummary(s),
    '```',
    '',
  ].join('\n');
}

/** Runs `sabmalloc stress` for `argv` (the arguments after `stress`); returns the exit code. */
export async function stressCommand(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    console.log(STRESS_USAGE);
    return 0;
  }
  const p = parseOrExit('stress', () => parseStressArgs(argv));
  if ('code' in p) return p.code;
  const parsed = p.ok;
  if (parsed.dryRun) {
    console.log('sabmalloc stress: arguments OK; dry run, nothing run or written');
    return 0;
  }
  const tty = process.stderr.isTTY === true;
  let lastPrinted = 0;
  let lastLength = 0;
  const options: StressOptions = {
    ...parsed.options,
    progressIntervalMs: tty ? 500 : 1000,
    onProgress: parsed.quiet
      ? undefined
      : (p) => {
          const line = formatProgress(p);
          if (tty) {
            process.stderr.write(`\r${line.padEnd(lastLength)}`);
            lastLength = line.length;
          } else if (p.phase === 'check' || Date.now() - lastPrinted >= 5000) {
            process.stderr.write(`${line}\n`);
            lastPrinted = Date.now();
          }
        },
  };
  const summary = await runStress(options);
  if (tty && !parsed.quiet) process.stderr.write('\n');
  if (parsed.json) console.log(JSON.stringify(summary, null, 2));
  else for (const line of formatSummary(summary)) console.log(line);
  if (parsed.out !== undefined) {
    const command = `sabmalloc stress ${argv.filter((a, i) => a !== '--out' && argv[i - 1] !== '--out').join(' ')}`.trim();
    mkdirSync(dirname(parsed.out), { recursive: true });
    writeFileSync(parsed.out, summaryMarkdown(summary, command));
    console.error(`wrote ${parsed.out}`);
  }
  return summary.ok ? 0 : 1;
}
