/**
 * The inputs of `sabmalloc compare`: a results file of `sabmalloc bench` (contention
 * suite: meta, runs, figures) or of `sabmalloc locks` (machine, options, points), checked
 * field by field and reduced to one shape, a SavedRun: what the run was (window,
 * repetitions, worker counts, machine, load) and, per point, the figures of every
 * repetition with the noise each repetition recorded.
 *
 * Owns: the rule that nothing malformed reaches the statistics. Every check names the
 * file, the field and what is wrong, as a ResultsFileError (a UsageError: the CLI prints
 * it as one line on stderr and exits 2). A figure that is not a finite number, a null
 * where an object belongs, a missing field: each is an error, never a NaN in the output.
 *
 * Nothing here computes a verdict (bench/kit/verdict.ts) or prints (compare.ts).
 */
import { readFileSync } from 'node:fs';
import { UsageError, existingFile } from '../cli/args.js';
import type { RepNoise } from '../kit/noise.js';

/** A results file that is not what `compare` can read (exit 2, one line). */
export class ResultsFileError extends UsageError {
  override readonly name = 'ResultsFileError';
}

/** One point of a run: its repetitions' figures (higher is better) and their noise. */
export interface SavedPoint {
  /** identity within its tool: e.g. ['larson', 'sabmalloc', '4'] or ['ttas', 'cs 4', '2'] */
  labels: string[];
  workers: number;
  reps: number[];
  noise: RepNoise[];
  /** noise flag codes the file recorded for the point, if any */
  flags: string[];
}

/** What a run was, as far as comparing two runs needs (see compare.ts, differences). */
export interface SavedRun {
  file: string;
  tool: 'bench' | 'locks';
  /** what the figures are */
  figure: string;
  labelNames: string[];
  date: string | null;
  windowMs: number;
  reps: number;
  workers: number[];
  quick: boolean | null;
  /** every other option that changes what is measured, as one canonical string */
  settings: string;
  machine: { cores: number; cpuModel: string; node: string; platform: string };
  /** mean of the 1-minute load averages recorded at start and end; null if none */
  load: number | null;
  points: Map<string, SavedPoint>;
}

type Obj = Record<string, unknown>;

/** Field checks that throw ResultsFileError naming `where` (the file and the path). */
class Reader {
  constructor(readonly where: string) {}
  fail(path: string, what: string): never {
    throw new ResultsFileError(`${this.where}: ${path} ${what}`);
  }
  obj(v: unknown, path: string): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(path, `is ${describe(v)}, not an object`);
    return v as Obj;
  }
  arr(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, `is ${describe(v)}, not an array`);
    return v;
  }
  num(v: unknown, path: string, min = -Infinity): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(path, `is ${describe(v)}, not a finite number`);
    if (v < min) this.fail(path, `is ${v}, below ${min}`);
    return v;
  }
  int(v: unknown, path: string, min: number): number {
    const n = this.num(v, path, min);
    if (!Number.isInteger(n)) this.fail(path, `is ${n}, not an integer`);
    return n;
  }
  str(v: unknown, path: string): string {
    if (typeof v !== 'string') this.fail(path, `is ${describe(v)}, not a string`);
    return v;
  }
  /** a finite number, or null/absent (a figure the host could not measure) */
  optNum(v: unknown, path: string): number | null {
    return v === null || v === undefined ? null : this.num(v, path);
  }
  ints(v: unknown, path: string): number[] {
    return this.arr(v, path).map((x, i) => this.int(x, `${path}[${i}]`, 1));
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  if (typeof v === 'string') return JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}...` : v);
  if (typeof v === 'number') return String(v);
  return Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v;
}

const loadOf = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
};

/** Window, repetitions and worker counts from a run's options (both tools name them alike). */
function howRun(r: Reader, opts: Obj, path: string): Pick<SavedRun, 'windowMs' | 'reps' | 'workers' | 'quick'> {
  return {
    windowMs: r.num(opts.durationMs, `${path}.durationMs`, 0),
    reps: r.int(opts.reps, `${path}.reps`, 1),
    workers: r.ints(opts.workers, `${path}.workers`),
    quick: typeof opts.quick === 'boolean' ? opts.quick : null,
  };
}

function machineOf(r: Reader, m: Obj, path: string, cores: number): SavedRun['machine'] {
  return { cores, cpuModel: r.str(m.cpuModel, `${path}.cpuModel`), node: r.str(m.node, `${path}.node`), platform: String(m.platform ?? '?') };
}

/** A `sabmalloc bench` results file: every repetition from runs[], the run from meta. */
function benchRun(r: Reader, o: Obj, file: string): SavedRun {
  // figures are not compared (runs are), but a file whose figures are malformed is not trusted
  r.arr(o.figures, 'figures').forEach((f, i) => {
    const fo = r.obj(f, `figures[${i}]`);
    r.str(fo.workload, `figures[${i}].workload`);
    r.num(r.obj(fo.throughput, `figures[${i}].throughput`).median, `figures[${i}].throughput.median`);
  });
  const meta = r.obj(o.meta, 'meta');
  const opts = r.obj(meta.options, 'meta.options');
  const load = (k: string): number | null => (meta[k] === undefined ? null : r.optNum(r.arr(meta[k], `meta.${k}`)[0], `meta.${k}[0]`));
  const cores = r.int(meta.cpus, 'meta.cpus', 1);
  const points = new Map<string, SavedPoint>();
  const runs = r.arr(o.runs, 'runs');
  if (runs.length === 0) r.fail('runs', 'is empty: no repetition to compare');
  runs.forEach((x, i) => {
    const p = `runs[${i}]`;
    const run = r.obj(x, p);
    const labels = [r.str(run.workload, `${p}.workload`), r.str(run.allocator, `${p}.allocator`)];
    const workers = r.int(run.workers, `${p}.workers`, 1);
    const tput = r.num(run.throughput, `${p}.throughput`, 0);
    const seconds = r.num(run.seconds, `${p}.seconds`, 0);
    const noise: RepNoise = {
      wallMs: seconds * 1000,
      cpuMs: null,
      coresUsed: r.optNum(run.coresUsed, `${p}.coresUsed`),
      otherCores: r.optNum(run.otherCores, `${p}.otherCores`),
      load1: null,
      busyThreads: null,
      cores,
    };
    addRep(points, [...labels, String(workers)], workers, tput, noise);
  });
  return {
    file,
    tool: 'bench',
    figure: 'throughput, allocator calls per second',
    labelNames: ['workload', 'allocator', 'workers'],
    date: typeof meta.date === 'string' ? meta.date : null,
    ...howRun(r, opts, 'meta.options'),
    settings: JSON.stringify({ scale: opts.scale, seed: opts.seed, touch: opts.touch, preallocate: opts.preallocate, params: opts.params }),
    machine: machineOf(r, meta, 'meta', cores),
    load: loadOf([load('loadAverageStart'), load('loadAverageEnd')]),
    points,
  };
}

/** A `sabmalloc locks` results file: points[] with every repetition in throughputReps. */
function locksRun(r: Reader, o: Obj, file: string): SavedRun {
  const m = r.obj(o.machine, 'machine');
  const opts = r.obj(o.options, 'options');
  const cores = r.int(m.cpus, 'machine.cpus', 1);
  const points = new Map<string, SavedPoint>();
  r.arr(o.points, 'points').forEach((x, i) => {
    const p = `points[${i}]`;
    const pt = r.obj(x, p);
    const workers = r.int(pt.workers, `${p}.workers`, 1);
    const labels = [r.str(pt.kind, `${p}.kind`), `cs ${r.int(pt.csWrites, `${p}.csWrites`, 0)}`, String(workers)];
    const reps = r.arr(pt.throughputReps, `${p}.throughputReps`).map((t, k) => r.num(t, `${p}.throughputReps[${k}]`, 0));
    const all = reps.length ? reps : [r.num(pt.throughput, `${p}.throughput`, 0)];
    // each repetition's noise, where the run recorded it (bench/kit/noise.ts RepNoise)
    const noise = pt.noiseReps === undefined ? [] : r.arr(pt.noiseReps, `${p}.noiseReps`).map((x, k) => repNoiseOf(r, x, `${p}.noiseReps[${k}]`, cores));
    all.forEach((t, k) => addRep(points, labels, workers, t, noise.length === all.length ? noise[k]! : null));
  });
  return {
    file,
    tool: 'locks',
    figure: 'throughput, lock acquisitions per second',
    labelNames: ['kind', 'critical section', 'workers'],
    date: typeof o.startedAt === 'string' ? o.startedAt : null,
    ...howRun(r, opts, 'options'),
    // the calibrated times vary run to run; what was asked for is what must match
    settings: JSON.stringify({ outsideWork: opts.outsideWork, csWrites: opts.csWrites }),
    machine: machineOf(r, m, 'machine', cores),
    load: loadOf([r.optNum(m.loadAvgStart, 'machine.loadAvgStart'), r.optNum(m.loadAvgEnd, 'machine.loadAvgEnd')]),
    points,
  };
}

function repNoiseOf(r: Reader, x: unknown, path: string, cores: number): RepNoise {
  const o = r.obj(x, path);
  return {
    wallMs: r.num(o.wallMs, `${path}.wallMs`, 0),
    cpuMs: r.optNum(o.cpuMs, `${path}.cpuMs`),
    coresUsed: r.optNum(o.coresUsed, `${path}.coresUsed`),
    otherCores: r.optNum(o.otherCores, `${path}.otherCores`),
    load1: r.optNum(o.load1, `${path}.load1`),
    busyThreads: r.optNum(o.busyThreads, `${path}.busyThreads`),
    cores,
  };
}

function addRep(points: Map<string, SavedPoint>, labels: string[], workers: number, value: number, noise: RepNoise | null): void {
  const key = labels.join('\u0000');
  let p = points.get(key);
  if (!p) points.set(key, (p = { labels, workers, reps: [], noise: [], flags: [] }));
  p.reps.push(value);
  if (noise) p.noise.push(noise);
}

/** Checks and reduces a parsed results file (`which` is 'A' or 'B'). */
export function savedRunOf(json: unknown, file: string, which: string): SavedRun {
  const r = new Reader(`${which} '${file}'`);
  const o = r.obj(json, 'the file');
  if ('runs' in o || 'meta' in o || 'figures' in o) return benchRun(r, o, file);
  if ('points' in o && 'machine' in o) return locksRun(r, o, file);
  return r.fail('the file', "is not the JSON of a 'sabmalloc bench' or 'sabmalloc locks' run (no meta/runs/figures or machine/points)");
}

/** Reads, parses and checks one results file. */
export function loadSavedRun(file: string, which: string): SavedRun {
  existingFile(file, which);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ResultsFileError(`${which} '${file}': not JSON (${(e as Error).message.split('\n')[0]})`);
  }
  return savedRunOf(json, file, which);
}
