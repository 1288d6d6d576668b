/**
 * bench/kit/noise.ts and noise-node.ts: repetition noise from scripted readings (a fake
 * host, so nothing depends on this machine's timing), each flag raised exactly when its
 * rule says, the run summary, and the /proc parsers on captured lines.
 */
import { describe, expect, it } from 'vitest';
import { assessPoint, endNoise, flagCodes, markNoise, measureRepetition, measuredPoint, summarizeFlags, type NoiseSources, type RepNoise } from '../../bench/kit/noise.js';
import { nodeNoiseSources, procStatTime, taskStatCpuMs } from '../../bench/kit/noise-node.js';

/** A host whose readings are replayed from a script, one entry per mark. */
function scripted(steps: { now: number; cpuUs: number | null; busy?: number; total?: number; load?: number | null; threads?: [number, number][] }[], cores = 2): NoiseSources {
  let i = 0;
  const cur = () => steps[Math.min(i, steps.length - 1)]!;
  return {
    nowMs: () => cur().now,
    processCpuUs: () => cur().cpuUs,
    machineTime: () => (cur().busy === undefined ? null : { busy: cur().busy!, total: cur().total! }),
    threadCpuMs: () => {
      const t = cur().threads;
      i++; // the last reading of a mark
      return t ? new Map(t) : null;
    },
    loadAvg1: () => steps[Math.min(i, steps.length) - 1]!.load ?? null,
    cores: () => cores,
  };
}

const rep = (over: Partial<RepNoise>): RepNoise => ({ wallMs: 100, cpuMs: 200, coresUsed: 2, otherCores: 0, load1: 2, busyThreads: 2, cores: 2, ...over });
const point = { median: 100, lo: 95, hi: 105, n: 5 };

describe('endNoise', () => {
  it('derives cores used, other processes\' cores and busy threads from two marks', () => {
    const src = scripted([
      { now: 1000, cpuUs: 5_000_000, busy: 1000, total: 4000, threads: [[1, 100], [2, 50], [3, 0]] },
      // 200 ms later: 300 ms of CPU (1.5 cores); machine 80% busy of 2 cores = 1.6 cores; thread 3 ran 10 ms only
      { now: 1200, cpuUs: 5_300_000, busy: 1032, total: 4040, load: 3.5, threads: [[1, 250], [2, 200], [3, 10]] },
    ]);
    const n = endNoise(src, markNoise(src));
    expect(n.wallMs).toBe(200);
    expect(n.cpuMs).toBe(300);
    expect(n.coresUsed).toBeCloseTo(1.5);
    expect(n.otherCores).toBeCloseTo(0.1);
    expect(n.load1).toBe(3.5);
    expect(n.busyThreads).toBe(2);
  });

  it('wraps one repetition between two marks and returns its result with its noise', async () => {
    const src = scripted([{ now: 0, cpuUs: 0 }, { now: 10, cpuUs: 15_000 }]);
    const r = await measureRepetition(src, async () => 'done');
    expect(r.result).toBe('done');
    expect(r.noise.coresUsed).toBeCloseTo(1.5);
  });

  it('is null, not 0, where the host cannot say (no /proc, no CPU time: a browser page)', () => {
    const src = scripted([{ now: 0, cpuUs: null }, { now: 50, cpuUs: null, load: null }]);
    expect(endNoise(src, markNoise(src))).toEqual({ wallMs: 50, cpuMs: null, coresUsed: null, otherCores: null, load1: null, busyThreads: null, cores: 2 });
  });
});

describe('assessPoint', () => {
  it('flags nothing for a tight point that got its cores on a quiet machine', () => {
    expect(assessPoint(point, [rep({}), rep({}), rep({})], { workers: 2 })).toEqual([]);
  });

  it('flags repetitions that disagree beyond the threshold, and single repetitions', () => {
    expect(flagCodes(assessPoint({ median: 100, lo: 70, hi: 130, n: 5 }, [rep({})], { workers: 2 }))).toEqual(['spread']);
    expect(flagCodes(assessPoint({ median: 100, lo: 70, hi: 130, n: 5 }, [rep({})], { workers: 2 }, { maxRelativeWidth: 0.7 }))).toEqual([]);
    expect(flagCodes(assessPoint({ median: 100, lo: 100, hi: 100, n: 1 }, [rep({})], { workers: 2 }))).toEqual(['few-reps']);
    expect(flagCodes(assessPoint({ median: NaN, lo: NaN, hi: NaN, n: 3 }, [rep({})], { workers: 2 }))).toEqual(['spread']);
  });

  it('flags a point that got less CPU than min(workers, cores) x factor when others took it', () => {
    const squeezed = [rep({ coresUsed: 1.2, otherCores: 0.5 }), rep({ coresUsed: 1.1, otherCores: 0.7 }), rep({ coresUsed: 1.9, otherCores: 0.1 })];
    const f = assessPoint(point, squeezed, { workers: 8 });
    expect(flagCodes(f)).toEqual(['cpu-short']);
    expect(f[0]!.text).toMatch(/got 1\.20 of the 2 cores asked while other processes used 0\.50/);
    // one worker asks for one core: 1.2 is plenty
    expect(assessPoint(point, squeezed, { workers: 1 })).toEqual([]);
  });

  it('does not call parked workers on a free machine noisy, unless they never block', () => {
    const parked = [rep({ coresUsed: 1.2, otherCores: 0.05 }), rep({ coresUsed: 1.1, otherCores: 0 })];
    expect(assessPoint(point, parked, { workers: 8 })).toEqual([]);
    expect(flagCodes(assessPoint(point, parked, { workers: 8 }, { expectBusy: true }))).toEqual(['cpu-short']);
    // others unknown (no /proc): only a point whose workers never block is judged on CPU alone
    const unknown = [rep({ coresUsed: 1.1, otherCores: null, load1: null })];
    expect(assessPoint(point, unknown, { workers: 8 })).toEqual([]);
    expect(flagCodes(assessPoint(point, unknown, { workers: 8 }, { expectBusy: true }))).toEqual(['cpu-short']);
  });

  it('flags other processes taking the cores the point needed, and load beyond the machine net of the run', () => {
    expect(flagCodes(assessPoint(point, [rep({ otherCores: 0.8 })], { workers: 2 }))).toEqual(['others-busy']);
    // one worker on two cores leaves one core: 0.8 cores of others fit beside it
    expect(assessPoint(point, [rep({ otherCores: 0.8, coresUsed: 1 })], { workers: 1 })).toEqual([]);
    expect(flagCodes(assessPoint(point, [rep({ load1: 4.5, otherCores: null })], { workers: 2 }))).toEqual(['load']);
    expect(assessPoint(point, [rep({ load1: 3.9, otherCores: null })], { workers: 2 })).toEqual([]);
  });
});

describe('measuredPoint', () => {
  it('summarises the repetitions and attaches the flags they earn, plus the ones given, once each', () => {
    const p = measuredPoint([100, 140, 60], [rep({ coresUsed: 1, otherCores: 1 })], { workers: 2 }, { flags: ['spread', 'custom'] });
    expect(p).toMatchObject({ median: 100, lo: 60, hi: 140, ciMethod: 'minmax', n: 3 });
    expect(p.flags).toEqual(['spread', 'custom', 'cpu-short', 'others-busy']);
  });
});

describe('summarizeFlags', () => {
  it('says how many points are flagged and why, most common reason first', () => {
    const s = summarizeFlags([{ flags: [] }, { flags: ['spread', 'cpu-short'] }, { flags: ['spread'] }, { flags: [] }]);
    expect(s).toMatchObject({ total: 4, flagged: 2, byCode: { spread: 2, 'cpu-short': 1 } });
    expect(s.text).toMatch(/^2 of 4 points flagged as noisy: 2 spread = repetitions disagree.*; 1 cpu-short = /);
    expect(summarizeFlags([{ flags: [] }]).text).toBe('no point flagged as noisy (1 point)');
  });
});

describe('Node readings', () => {
  it('parses /proc/stat and task stat lines, names with spaces and parentheses included', () => {
    expect(procStatTime('cpu  100 5 50 800 20 1 2 0 0 0\ncpu0 1 2 3')).toEqual({ busy: 158, total: 978 });
    expect(procStatTime('nonsense')).toBeNull();
    const line = '4242 (node (worker) 1) S 1 4242 4242 0 -1 4194560 100 0 0 0 37 12 0 0 20 0 9 0 100 0 0';
    expect(taskStatCpuMs(line)).toBe(490);
  });

  it('gives readings of the right kinds on this host (null only for what the host lacks)', () => {
    const src = nodeNoiseSources();
    const n = endNoise(src, markNoise(src));
    expect(n.cores).toBeGreaterThanOrEqual(1);
    expect(n.wallMs).toBeGreaterThanOrEqual(0);
    expect(n.cpuMs).not.toBeNull();
    if (process.platform === 'linux') {
      expect(src.machineTime()).not.toBeNull();
      expect(src.threadCpuMs()!.size).toBeGreaterThanOrEqual(1);
    }
  });
});
