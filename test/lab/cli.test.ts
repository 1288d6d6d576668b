/**
 * The lab's command line (bench/cli): every bad input is one line on stderr and
 * exit code 2 before any work; --help runs nothing; --version; and the two extension
 * examples (a user's lock through `locks`, a user's allocator through `bench`) appear in the
 * reports, CSV and charts. Commands run in-process through main() (workers come from dist/:
 * `npm test` builds first). The real bin writing results only where --out says is checked
 * in test/lab/micro.test.ts (`micro --quick --out here` in a scratch directory), and
 * nowhere with --no-write in test/repo/package.test.ts (the README's `micro --quick
 * --no-write` leaves the fresh copy unchanged); every tool's bin runs there too.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-run.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'sabmalloc-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const run = runCli;

const missing = path.join(scratch, 'no-such-file.json');

// Bad inputs of every kind: [argv, what the line must name].
const BAD: [string[], RegExp][] = [
  [['bench', '--workers', '-5'], /--workers '-5'/],
  [['bench', '--workers=-5'], /--workers '-5'/],
  [['bench', '--workers', '0'], /--workers '0'.*range/],
  [['bench', '--workers', '200'], /--workers '200'.*range/],
  [['bench', '--workers', '1,,2'], /empty item/],
  [['bench', '--allocators', 'foo'], /unknown allocator "foo"/],
  [['bench', '--workloads', 'nope'], /unknown workload 'nope'/],
  [['bench', '--param', 'larson.slot=100'], /larson has no parameter 'slot'/],
  [['bench', '--param', 'larson.slots=-5'], /larson.slots '-5'.*range/],
  [['bench', '--param', 'larson.slots=1.5'], /not an integer/],
  [['bench', '--param', 'nope.slots=1'], /unknown workload 'nope'/],
  [['bench', '--param', 'larson.minSize=2000'], /minSize 2000 > larson.maxSize/],
  [['bench', '--from-json', missing], /--from-json .*no such file/],
  [['bench', '--duration', '-1'], /--duration '-1'/],
  [['bench', '--reps', '0'], /--reps '0'/],
  [['bench', '--touch', 'most'], /--touch 'most'/],
  [['bench', '--out', 'x', '--no-write'], /not both/],
  [['bench', '--allocator-module', missing], /--allocator-module .*no such file/],
  [['bench', '--bogus'], /Unknown option '--bogus'/],
  [['bench', 'extra'], /unexpected argument 'extra'/],
  [['locks', '--workers', '0'], /--workers '0'/],
  [['locks', '--workers', '200'], /--workers '200'/],
  [['locks', '--kinds', 'spinny'], /--kinds 'spinny'/],
  [['locks', '--cs', '-4'], /--cs '-4'/],
  [['locks', '--reps', 'many'], /--reps 'many'/],
  [['locks', '--replot', missing], /--replot .*no such file/],
  [['locks', '--lock-module', missing], /--lock-module .*no such file/],
  [['stress', '--workers', '0'], /workers must be an integer/],
  [['stress', '--workers', '-3'], /--workers '-3'|workers must be/],
  [['stress', '--heap-size', '1k'], /heap size must be/],
  [['stress', '--central-lock', 'spinny'], /--central-lock 'spinny'/],
  [['micro', '--out'], /argument missing/],
  [['micro', '--name', '../x'], /--name '..\/x'/],
  [['sizeclasses', '--page-size', 'abc'], /--page-size 'abc'/],
  [['sizeclasses', '--page-size', '1000'], /--page-size '1000'.*range/],
  [['sizeclasses', '--page-size', '12288'], /not a power of two/],
  [['sizeclasses', '--page-size', '131072'], /range/],
  [['compare', missing], /two result files/],
  [['compare', missing, missing], /no such file/],
  [['frobnicate'], /unknown command 'frobnicate'/],
];

describe('sabmalloc CLI: bad input', () => {
  it.each(BAD)('%j: one line naming the problem, exit 2, nothing run', async (argv, what) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^sabmalloc( [a-z]+)?: /);
    expect(lines[0]).toMatch(what);
  });

  it('a module that does not implement the interface is a usage error too', async () => {
    const bad = path.join(scratch, 'not-a-module.js');
    writeFileSync(bad, 'export const id = 42;\n');
    const a = await run(['bench', '--allocator-module', bad, '--dry-run']);
    expect([a.code, a.err.trim().split('\n').length]).toEqual([2, 1]);
    expect(a.err).toMatch(/is not an allocator module/);
    const l = await run(['locks', '--lock-module', bad, '--dry-run']);
    expect([l.code, l.err.trim().split('\n').length]).toEqual([2, 1]);
    expect(l.err).toMatch(/is not a lock module/);
  });
});

describe('sabmalloc CLI: help, version, dry runs', () => {
  it.each([['bench'], ['micro'], ['locks'], ['stress'], ['compare'], ['sizeclasses'], ['memory']])('%s --help prints the options and runs nothing', async (cmd) => {
    const r = await run([cmd, '--help', '--workers', '0']); // --help wins over anything else
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^usage: sabmalloc ${cmd}`));
    // the line after the usage says what the command does
    expect(r.out.split('\n')[1]).toMatch(/^[A-Z][^-].{20,}/);
    expect(r.err).toBe('');
    expect(r.out).not.toMatch(/size classes for/); // sizeclasses: the table is not printed
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect((await run(['--version'])).out).toBe(pkg.version);
  });

  it('--dry-run checks the arguments (and loads modules) and runs nothing', async () => {
    for (const argv of [
      ['bench', '--quick', '--workers', '1,2', '--param', 'larson.slots=100', '--allocator-module', 'bench/examples/pow2-allocator.js', '--dry-run'],
      ['locks', '--validate', '--lock-module', 'bench/examples/backoff-lock.js', '--kinds', 'ttas,tas-backoff', '--dry-run'],
      ['stress', '--workers', '8', '--dry-run'],
      ['micro', '--dry-run'],
    ]) {
      const r = await run(argv);
      expect(r.err).toBe('');
      expect([r.code, r.out]).toEqual([0, expect.stringMatching(/arguments OK; dry run/)]);
    }
  });

  it('sizeclasses prints the table for a valid page size', async () => {
    const r = await run(['sizeclasses', '--page-size', '16384']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/size classes for 16384-byte pages/);
  });
});

describe('bring your own lock and allocator (bench/examples)', () => {
  it('a user lock module runs through `locks` and appears in the JSON and the charts', async () => {
    const out = path.join(scratch, 'locks');
    const r = await run(['locks', '--lock-module', 'bench/examples/backoff-lock.js', '--kinds', 'ttas,tas-backoff', '--workers', '1,2', '--cs', '4', '--duration', '50', '--reps', '1', '--no-uncontended', '--validate', '--death-modes', 'holder', '--out', out]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'locks.json'), 'utf8')) as { points: { kind: string; workers: number; throughput: number }[]; validation: { kind: string; ok: boolean }[] };
    const mine = report.points.filter((p) => p.kind === 'tas-backoff');
    expect(mine.map((p) => p.workers)).toEqual([1, 2]);
    for (const p of mine) expect(p.throughput).toBeGreaterThan(0);
    expect(report.validation.filter((v) => v.kind === 'tas-backoff' && v.ok).length).toBeGreaterThan(0);
    // Throughput and fairness charts draw every kind; the wake-up chart draws only kinds whose
    // waiters were seen to sleep, which a spinning module may never do in a short run.
    const perKind = readdirSync(out).filter((f) => /-(throughput|fairness)-.*\.svg$/.test(f));
    expect(perKind.length).toBeGreaterThan(0);
    for (const svg of perKind) expect(readFileSync(path.join(out, svg), 'utf8')).toContain('tas-backoff');
  });

  it('a user allocator module runs through `bench` and appears in the report, CSV and charts', async () => {
    const out = path.join(scratch, 'bench');
    const r = await run(['bench', '--no-micro', '--allocator-module', 'bench/examples/pow2-allocator.js', '--allocators', 'sabmalloc,pow2', '--workloads', 'ring,larson', '--workers', '1,2', '--reps', '2', '--duration', '20', '--no-warmup', '--out', out, '--name', 'ex']);
    expect(r.code, r.err).toBe(0);
    const res = JSON.parse(readFileSync(path.join(out, 'ex.json'), 'utf8')) as { failures: unknown[]; runs: { allocator: string }[]; figures: { allocator: string }[] };
    expect(res.failures).toEqual([]);
    expect(res.runs.filter((x) => x.allocator === 'pow2')).toHaveLength(2 * 2 * 2); // workloads x workers x reps
    const md = readFileSync(path.join(out, 'ex.md'), 'utf8');
    // every table of the report has a pow2 row or its own detail table, as sabmalloc does
    for (const w of ['ring', 'larson']) {
      const section = md.slice(md.indexOf(`## ${w}`), md.indexOf('\n## ', md.indexOf(`## ${w}`) + 3));
      expect(section).toContain('`pow2` in detail:');
      expect(section).toContain('`sabmalloc` in detail:');
      const tables = section.split(/\n\n/).filter((b) => b.startsWith('|'));
      expect(tables.length).toBeGreaterThanOrEqual(4);
      for (const t of tables.filter((b) => /^\| (allocator|figure)/.test(b) && !/^\| figure/.test(b))) expect(t).toContain('pow2');
    }
    // the user's run is reported, not the project's targets (only with --targets)
    expect(r.out).not.toMatch(/Targets|MISSED|\bMET\b/);
    expect(md).not.toMatch(/## Targets|MISSED/);
    expect(r.out).toMatch(/^Noise: /m);
    const csv = readFileSync(path.join(out, 'ex.csv'), 'utf8').split('\n');
    expect(csv.filter((l) => l.startsWith('ring,pow2,'))).toHaveLength(2);
    expect(readFileSync(path.join(out, 'ex-runs.csv'), 'utf8')).toContain('larson,pow2,');
    for (const w of ['ring', 'larson']) expect(readFileSync(path.join(out, `ex-${w}.svg`), 'utf8')).toContain('pow2');
    // the saved run re-renders without the module loaded (its id becomes a plain label)
    const again = await run(['bench', '--from-json', path.join(out, 'ex.json'), '--out', path.join(scratch, 'again')]);
    expect(again.code, again.err).toBe(0);
  });
});
