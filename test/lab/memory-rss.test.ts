/**
 * The RSS benchmark (bench/memory/rss.ts): its options, bad input (one line on stderr,
 * exit code 2), and one small real run in a child process whose figures hang together.
 * Imports the compiled module: it starts dist/workers/memory.js beside it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

const MOD = '../../dist/bench/memory/rss.js';
type RssModule = typeof import('../../bench/memory/rss.js');
const load = (): Promise<RssModule> => import(MOD) as Promise<RssModule>;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('sabmalloc memory rss', () => {
  it('parses patterns, worker lists and ranges', async () => {
    const { parseRssArgs } = await load();
    const o = parseRssArgs(['--patterns', 'churn,phase', '--workers', '1-3,5', '--live-mib', '2', '--json']);
    expect(o.patterns).toEqual(['churn', 'phase']);
    expect(o.workers).toEqual([1, 2, 3, 5]);
    expect(o.liveMiB).toBe(2);
    expect(o.json).toBe(true);
  });

  it.each([
    [['--patterns', 'nope'], /unknown pattern "nope"/],
    [['--workers', '0'], /out of range/],
    [['--workers', 'a'], /expected numbers or ranges/],
    [['--live-mib', '-1'], /positive number/],
    [['--frobnicate', '1'], /unknown option/],
    [['--reps'], /incomplete option/],
  ])('refuses %j with one line on stderr and exit code 2', async (argv, why) => {
    const { runRss } = await load();
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      lines.push(String(s));
      return true;
    });
    expect(await runRss(argv)).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(why);
    expect(lines[0]!.trim().split('\n')).toHaveLength(1);
  });

  it('runs a configuration in a child process and reports figures that hang together', async () => {
    const { runRss } = await load();
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
    expect(await runRss(['--patterns', 'churn', '--workers', '2', '--live-mib', '2', '--ops', '4000', '--json'])).toBe(0);
    const r = JSON.parse(out.at(-1)!) as {
      results: { workers: number; peakLive: number; peakRssGrowth: number; committed: number; report: Record<string, number> }[];
      summaries: { reps: number; rss: number[]; committed: number[]; rest: number[] }[];
    };
    expect(r.results).toHaveLength(1);
    const [run] = r.results;
    expect(run!.workers).toBe(2);
    // 2 workers x ~2 MiB live, each block written: the peak is near 4 MiB, and the process grew.
    expect(run!.peakLive).toBeGreaterThan(3 * 2 ** 20);
    expect(run!.peakLive).toBeLessThan(5 * 2 ** 20);
    expect(run!.peakRssGrowth).toBeGreaterThan(run!.peakLive / 2);
    expect(run!.committed).toBeGreaterThan(run!.peakLive);
    expect(run!.report.unaccountedBytes).toBe(0);
    expect(run!.report.committedBytes).toBe(run!.committed);
    const [s] = r.summaries;
    expect(s!.reps).toBe(1);
    expect(s!.rss).toEqual(Array(3).fill(run!.peakRssGrowth / run!.peakLive));
    expect(s!.rest).toEqual(Array(3).fill((run!.peakRssGrowth - run!.committed) / 2 ** 20));
  });

  it('summarizes repetitions: median and range of each figure, a flag when the RSS ratios spread', async () => {
    const { summarize, SPREAD_FLAG } = await load();
    const MiB = 2 ** 20;
    const run = (rss: number, committed: number, workers = 2) => ({
      pattern: 'churn',
      workers,
      peakReset: true,
      peakRssGrowth: rss * 10 * MiB,
      peakLive: 10 * MiB,
      committed: committed * 10 * MiB,
      metadata: 0,
      threadCaches: 0,
      ms: 1,
      report: null,
    });
    const [a, b] = summarize([run(1.3, 1.25), run(1.5, 1.27), run(1.4, 1.26), run(1.2, 1.1, 4), run(1.2 + SPREAD_FLAG / 2, 1.1, 4)]);
    expect(a).toMatchObject({ pattern: 'churn', workers: 2, reps: 3, noisy: true });
    expect(a!.rss.map((x) => +x.toFixed(6))).toEqual([1.4, 1.3, 1.5]);
    expect(a!.committed.map((x) => +x.toFixed(6))).toEqual([1.26, 1.25, 1.27]);
    // rest = RSS growth - committed, in MiB: 10 MiB live, so 1.4 - 1.26 is 1.4 MiB
    expect(a!.rest.map((x) => +x.toFixed(6))).toEqual([1.4, 0.5, 2.3]);
    expect(b).toMatchObject({ workers: 4, reps: 2, noisy: false });
    expect(+b!.rss[0].toFixed(6)).toBe(+(1.2 + SPREAD_FLAG / 4).toFixed(6));
  });
});
