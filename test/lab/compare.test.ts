/**
 * `sabmalloc compare` on SYNTHETIC result files (figures drawn from seeded distributions,
 * nothing timed): A/A comes out "no evidence of change" on every point, A/B with a clear
 * shift comes out changed on that point only, malformed inputs are one line on stderr and
 * exit 2 (a null figure and non-numeric throughputs included: they used to be a raw
 * TypeError with exit 1, and "NaN%" judged "yes (slower)" with exit 0), runs made
 * differently (window, machine, load) get the warning before any figure, points in one
 * run only are said to be so, and flagged repetitions make a point "noisy".
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-run.js';
import { compareRuns } from '../../bench/contention/compare.js';
import { savedRunOf } from '../../bench/contention/compare-input.js';
import { seededRandom } from '../../bench/kit/sample.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'sabmalloc-compare-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const run = runCli;

let fileNo = 0;
function write(json: unknown): string {
  const f = path.join(scratch, `r${fileNo++}.json`);
  writeFileSync(f, typeof json === 'string' ? json : JSON.stringify(json));
  return f;
}

interface BenchShape {
  seed: number;
  reps?: number;
  durationMs?: number;
  cpus?: number;
  cpuModel?: string;
  load?: number;
  /** multiply the figures of 'workload/allocator/workers' */
  shift?: Record<string, number>;
  coresUsed?: (workers: number) => number;
  drop?: string[];
}

/** A `sabmalloc bench` results file with lognormal throughputs (5% sd), 8 points. */
function benchJson(s: BenchShape) {
  const rand = seededRandom(s.seed);
  const z = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const reps = s.reps ?? 6;
  const cpus = s.cpus ?? 2;
  const runs: object[] = [];
  const figures: object[] = [];
  for (const workload of ['larson', 'ring'])
    for (const allocator of ['sabmalloc', 'global-lock'])
      for (const workers of [1, 2]) {
        const key = `${workload}/${allocator}/${workers}`;
        if (s.drop?.includes(key)) continue;
        const base = (allocator === 'sabmalloc' ? 8e6 : 3e6) * workers * (s.shift?.[key] ?? 1);
        const xs = Array.from({ length: reps }, () => base * Math.exp(0.05 * z()));
        const coresUsed = s.coresUsed ? s.coresUsed(workers) : Math.min(workers, cpus) * 0.97;
        // what this point's workers did not get, other processes took (or 0.05 cores when idle)
        const otherCores = s.coresUsed ? Math.max(0.05, Math.min(workers, cpus) - coresUsed) : 0.05;
        xs.forEach((throughput, rep) => runs.push({ workload, allocator, workers, rep, seconds: 0.1, throughput, coresUsed, otherCores }));
        figures.push({ workload, allocator, workers, throughput: { median: xs[0], min: 0, max: 0, spread: 0, n: reps } });
      }
  const load = s.load ?? 0.4;
  return {
    meta: {
      date: '2026-01-01T00:00:00.000Z',
      node: 'v20.20.2',
      platform: 'linux x64',
      cpus,
      cpuModel: s.cpuModel ?? 'Test CPU',
      loadAverageStart: [load, load, load],
      loadAverageEnd: [load, load, load],
      options: { workers: [1, 2], workloads: ['larson', 'ring'], allocators: ['sabmalloc', 'global-lock'], durationMs: s.durationMs ?? 100, reps, quick: false, scale: 'quick', seed: 1, preallocate: false, touch: 'sparse', params: {} },
    },
    runs,
    figures,
    targets: [],
  };
}

const verdicts = (out: string): string[] =>
  out
    .split('\n')
    .filter((l) => /^(larson|ring) /.test(l))
    .map((l) => l.replace(/ +/g, ' ').trim());

describe('A/A and A/B', () => {
  it('A/A: two independent draws of one distribution, and a file against itself: no evidence of change on every point', async () => {
    for (const [a, b] of [
      [write(benchJson({ seed: 1 })), write(benchJson({ seed: 2 }))],
      [write(benchJson({ seed: 3 })), write(benchJson({ seed: 3 }))],
    ]) {
      const r = await run(['compare', a!, b!]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).not.toMatch(/WARNING/);
      const rows = verdicts(r.out);
      expect(rows).toHaveLength(8);
      for (const row of rows) expect(row).toMatch(/no evidence of change$/);
      expect(r.out).toMatch(/8 point\(s\) in both runs: 0 faster, 0 slower, 8 no evidence of change, 0 noisy/);
    }
  });

  it('A/B: the shifted point is changed, in the right direction, and no other', async () => {
    const a = write(benchJson({ seed: 4 }));
    const b = write(benchJson({ seed: 5, shift: { 'ring/sabmalloc/2': 1.5, 'larson/global-lock/1': 0.7 } }));
    const r = await run(['compare', a, b]);
    expect(r.code, r.err).toBe(0);
    const rows = verdicts(r.out);
    expect(rows.filter((l) => !/no evidence of change$/.test(l))).toEqual([expect.stringMatching(/^larson global-lock 1 .* -\d+\.\d% \[.*\] 0\.00\d slower$/), expect.stringMatching(/^ring sabmalloc 2 .* \+\d+\.\d% \[.*\] 0\.00\d faster$/)]);
  });

  it('with 3 repetitions a clear shift is "too few repetitions", not a guess', async () => {
    const r = await run(['compare', write(benchJson({ seed: 6, reps: 3 })), write(benchJson({ seed: 7, reps: 3, shift: { 'ring/sabmalloc/1': 2 } }))]);
    expect(verdicts(r.out).find((l) => l.startsWith('ring sabmalloc 1 '))).toMatch(/too few repetitions$/);
    expect(r.out).toMatch(/3 reps: min\.\.max of 3 \(covers the median with 75%\)/);
    expect(r.out).toMatch(/8 point\(s\) have too few repetitions for the test to ever reach p < 0\.05.* 4 or more repetitions/);
  });

  it('the committed results of bench and locks, each against itself: exit 0, not one change', async () => {
    for (const f of ['bench/results/contention.json', 'bench/results/locks.json']) {
      const r = await run(['compare', f, f]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/point\(s\) in both runs: 0 faster, 0 slower, \d+ no evidence of change, 0 noisy/);
    }
  });
});

describe('malformed inputs: one line on stderr, exit 2', () => {
  const good = benchJson({ seed: 8 });
  const withRun = (patch: object) => ({ ...good, runs: [{ ...(good.runs[0] as object), ...patch }, ...good.runs.slice(1)] });
  it.each([
    ['a null figure', { figures: [null] }, /'.*': figures\[0\] is null, not an object/],
    ['a non-numeric throughput', withRun({ throughput: 'fast' }), /runs\[0\]\.throughput is "fast", not a finite number/],
    ['a null throughput (NaN written by JSON.stringify)', withRun({ throughput: null }), /runs\[0\]\.throughput is null, not a finite number/],
    ['a missing field', withRun({ workers: undefined }), /runs\[0\]\.workers is missing/],
    ['a non-numeric cores figure', withRun({ coresUsed: 'x' }), /runs\[0\]\.coresUsed/],
    ['a figure without throughput', { ...good, figures: [{ workload: 'ring' }] }, /figures\[0\]\.throughput is missing/],
    ['a non-numeric figure median', { ...good, figures: [{ workload: 'ring', throughput: { median: 'fast', min: 1, max: 2, n: 3 } }] }, /figures\[0\]\.throughput\.median is "fast", not a finite number/],
    ['no meta', { figures: [], runs: [] }, /meta is missing, not an object/],
    ['no repetition', { ...good, runs: [] }, /runs is empty/],
    ['an array', [], /the file is an array, not an object/],
    ['something else', { hello: 1 }, /not the JSON of a 'sabmalloc bench' or 'sabmalloc locks' run/],
    ['not JSON', '{"figures": [', /not JSON/],
  ])('%s', async (_, json, message) => {
    const bad = write(json);
    const good1 = write(good);
    for (const argv of [[bad, good1], [good1, bad]]) {
      const r = await run(['compare', ...argv]);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err.split('\n')).toHaveLength(1);
      expect(r.err).toMatch(message);
      expect(r.err).toMatch(argv[0] === bad ? /^sabmalloc compare: A '/ : /^sabmalloc compare: B '/);
    }
  });

  it('refuses to compare a bench run with a locks run', async () => {
    const locks = write({ machine: { cpus: 2, cpuModel: 'Test CPU', node: 'v20.20.2', platform: 'linux' }, options: { durationMs: 100, reps: 3, workers: [1] }, points: [] });
    const r = await run(['compare', write(benchJson({ seed: 9 })), locks]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/a 'bench' run and B .* a 'locks' run/);
  });
});

describe('runs made differently', () => {
  it('warns before any figure when windows, repetitions, machine or load differ, and --strict refuses', async () => {
    const a = write(benchJson({ seed: 10 }));
    const b = write(benchJson({ seed: 11, durationMs: 250, reps: 7, cpus: 8, cpuModel: 'Other CPU', load: 12 }));
    const r = await run(['compare', a, b]);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^WARNING: A and B were not run the same way/);
    const header = lines.slice(0, lines.indexOf(''));
    expect(header.join('\n')).toMatch(/timed window: A 100 ms, B 250 ms/);
    expect(header.join('\n')).toMatch(/repetitions per point: A 6, B 7/);
    expect(header.join('\n')).toMatch(/machine cores: A 2, B 8/);
    expect(header.join('\n')).toMatch(/CPU model: A Test CPU, B Other CPU/);
    expect(header.join('\n')).toMatch(/load average: A 0\.40, B 12/);
    expect(header.join('\n')).toMatch(/CAUTION: other work competed[^]*B ran on a loaded machine: load average 12 on 8 cores/);
    const s = await run(['compare', a, b, '--strict']);
    expect(s.code).toBe(1);
    expect(s.out).toBe('');
    expect(s.err).toMatch(/refusing \(--strict\)/);
    const csv = await run(['compare', a, b, '--csv']);
    expect(csv.out.split('\n')[0]).toBe('workload,allocator,workers,presence,a_median,a_lo,a_hi,a_interval,a_reps,a_flags,b_median,b_lo,b_hi,b_interval,b_reps,b_flags,ratio,ratio_lo,ratio_hi,p,verdict');
    expect(csv.err).toMatch(/^WARNING/);
  });

  it('a loaded machine alone is a caution: printed first, not a refusal under --strict', async () => {
    const a = write(benchJson({ seed: 16, load: 5 }));
    const b = write(benchJson({ seed: 17, load: 5 }));
    const r = await run(['compare', a, b, '--strict']);
    expect(r.code, r.err).toBe(0);
    expect(r.out.split('\n').slice(0, 3)).toEqual(['CAUTION: other work competed with the figures below:', '  - A ran on a loaded machine: load average 5 on 2 cores', '  - B ran on a loaded machine: load average 5 on 2 cores']);
    expect(r.out).not.toMatch(/WARNING/);
  });
});

describe('points and noise', () => {
  it('counts points present in one run only, and lists them with --all', async () => {
    const a = write(benchJson({ seed: 12 }));
    const b = write(benchJson({ seed: 13, drop: ['ring/global-lock/2'] }));
    const r = await run(['compare', a, b]);
    expect(r.out).toMatch(/7 point\(s\) in both runs: .*; 1 only in A, 0 only in B \(--all lists them\)/);
    expect(verdicts(r.out)).toHaveLength(7);
    const all = await run(['compare', a, b, '--all']);
    expect(verdicts(all.out).find((l) => l.startsWith('ring global-lock 2 '))).toMatch(/ - - - only in A$/);
  });

  it('calls a point noisy when other processes took the cores a side asked for, and says which', async () => {
    const a = write(benchJson({ seed: 14 }));
    const b = write(benchJson({ seed: 15, coresUsed: (w) => (w === 2 ? 1.1 : 0.97) }));
    const r = await run(['compare', a, b]);
    const rows = verdicts(r.out);
    expect(rows.filter((l) => / 2 /.test(l)).every((l) => /noisy \(B cpu-short, B others-busy\)$/.test(l))).toBe(true);
    expect(rows.filter((l) => / 1 /.test(l)).every((l) => /no evidence of change$/.test(l))).toBe(true);
    expect(r.out).toMatch(/noise, B: 4 of 8 points flagged as noisy: 4 cpu-short = .*; 4 others-busy = /);
  });
});

describe('locks results', () => {
  const locksJson = (seed: number, shift = 1) => {
    const rand = seededRandom(seed);
    const points = ['ttas', 'mcs'].flatMap((kind) =>
      [1, 4].map((workers) => {
        const throughputReps = Array.from({ length: 9 }, () => 1e7 * (kind === 'mcs' && workers === 4 ? shift : 1) * (0.95 + 0.1 * rand()));
        return { kind, workers, csWrites: 4, throughput: throughputReps[0], throughputReps };
      }),
    );
    return { machine: { cpus: 2, cpuModel: 'Test CPU', node: 'v20.20.2', platform: 'linux', loadAvgStart: 0.2, loadAvgEnd: 0.3 }, options: { durationMs: 100, reps: 9, workers: [1, 4], outsideWork: 64 }, csNs: { 4: 8 }, points };
  };

  it('compares lock kinds point by point: A/A no change, A/B the slowed kind', () => {
    const aa = compareRuns(savedRunOf(locksJson(1), 'a', 'A'), savedRunOf(locksJson(2), 'b', 'B'));
    expect(aa.differences).toEqual([]);
    expect(aa.rows.map((r) => r.verdict!.change)).toEqual(['no evidence of change', 'no evidence of change', 'no evidence of change', 'no evidence of change']);
    const ab = compareRuns(savedRunOf(locksJson(1), 'a', 'A'), savedRunOf(locksJson(2, 0.6), 'b', 'B'));
    expect(ab.rows.map((r) => `${r.labels.join(' ')}: ${r.verdict!.change}`)).toEqual([
      'ttas cs 4 1: no evidence of change',
      'ttas cs 4 4: no evidence of change',
      'mcs cs 4 1: no evidence of change',
      'mcs cs 4 4: lower',
    ]);
    expect(ab.rows[3]!.a!.ciMethod).toBe('bootstrap95');
  });
});
