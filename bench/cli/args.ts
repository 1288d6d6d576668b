/**
 * Argument parsing shared by every `sabmalloc` lab command.
 *
 * Owns: the rule that a command parses and validates ALL of its arguments before it does
 * any work, and the one way bad input ends: a UsageError, printed by main.ts as one line
 * (`sabmalloc <command>: <what is wrong> (see 'sabmalloc <command> --help')`), exit code 2.
 * Nothing here touches the file system except `existingFile` (a stat of a named file).
 *
 * node:util parseArgs treats a value that starts with '-' as the next option ("argument is
 * ambiguous"), so `--workers -5` is rewritten to `--workers=-5` first and then rejected by
 * the range check with a message about the value rather than about the parser.
 */
import { existsSync, statSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad command-line input: exit code 2, one line on stderr (a RangeError, as the library uses). */
export class UsageError extends RangeError {
  override readonly name: string = 'UsageError';
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** `argv` contains `--help`/`-h` (checked before anything else, so help never runs work). */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/**
 * Strict parse: unknown options, missing values and positionals (unless `positionals` is
 * given) are UsageErrors. Negative-number values are accepted by the parser so that the
 * range checks can name them.
 */
export function parseOptions<O extends OptionSpec>(
  argv: readonly string[],
  options: O,
  positionals = 0,
): { values: ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: true }>>['values']; positionals: string[] } {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.startsWith('--') ? a.slice(2) : undefined;
    const next = argv[i + 1];
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-[0-9.]/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError(firstLine((e as Error).message));
  }
  if (parsed.positionals.length > positionals) {
    throw new UsageError(`unexpected argument '${parsed.positionals[positionals]}'`);
  }
  return parsed as never;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/\. To specify .*$/, '');
}

/** A number in [min, max]; integer unless `integer` is false. */
export function numberIn(s: string | undefined, what: string, min: number, max: number, integer = true): number | undefined {
  if (s === undefined) return undefined;
  const n = s.trim() === '' ? NaN : Number(s);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new UsageError(`bad ${what} '${s}': not ${integer ? 'an integer' : 'a number'}`);
  if (n < min || n > max) throw new UsageError(`bad ${what} '${s}': out of range ${min}..${max}`);
  return n;
}

/** Comma-separated list, no empty items. */
export function listOf(s: string | undefined, what: string): string[] | undefined {
  if (s === undefined) return undefined;
  const xs = s.split(',').map((x) => x.trim());
  if (xs.length === 0 || xs.some((x) => x === '')) throw new UsageError(`bad ${what} '${s}': empty item`);
  return xs;
}

/** Comma-separated integers in [min, max]. */
export function intListIn(s: string | undefined, what: string, min: number, max: number): number[] | undefined {
  return listOf(s, what)?.map((x) => numberIn(x, what, min, max)!);
}

/** One of `choices`. */
export function oneOf<T extends string>(s: string | undefined, what: string, choices: readonly T[]): T | undefined {
  if (s === undefined) return undefined;
  if (!(choices as readonly string[]).includes(s)) throw new UsageError(`bad ${what} '${s}': one of ${choices.join(', ')}`);
  return s as T;
}

/** A path that names an existing regular file. */
export function existingFile(s: string | undefined, what: string): string | undefined {
  if (s === undefined) return undefined;
  if (!existsSync(s) || !statSync(s).isFile()) throw new UsageError(`${what} '${s}': no such file`);
  return s;
}

/** A file-name stem: no directory parts. */
export function stem(s: string | undefined, what: string): string | undefined {
  if (s === undefined) return undefined;
  if (!/^[A-Za-z0-9._-]+$/.test(s)) throw new UsageError(`bad ${what} '${s}': letters, digits, '.', '_' and '-' only`);
  return s;
}

/** --out DIR / --no-write: the results directory, or null for "write nothing". */
export function outDir(out: string | undefined, noWrite: boolean | undefined, fallback: string): string | null {
  if (noWrite && out !== undefined) throw new UsageError('give --out or --no-write, not both');
  if (out === '') throw new UsageError('bad --out: empty path');
  return noWrite ? null : (out ?? fallback);
}

/** Most worker threads a lab command starts (thread slots of a default heap: 128). */
export const MAX_WORKERS = 128;

/** The results directory used when --out is not given (relative to the working directory). */
export const DEFAULT_OUT = 'bench/results';

/**
 * Parses with `parse`; a UsageError is printed as one line on stderr and becomes exit
 * code 2 (returned as `{ code: 2 }`), anything else propagates.
 */
export function parseOrExit<T>(command: string, parse: () => T): { ok: T } | { code: 2 } {
  try {
    return { ok: parse() };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(usageLine(command, e.message));
    return { code: 2 };
  }
}

/** The one-line form of a usage error. */
export function usageLine(command: string, message: string): string {
  return `sabmalloc ${command}: ${message} (see 'sabmalloc ${command} --help')`;
}

/**
 * A stem no earlier run of the same second took ("<base>-20261206-053012"): quick runs
 * never overwrite one another unless --name says so.
 */
export function uniqueStem(base: string, date = new Date()): string {
  return `${base}-${date.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`;
}
