/**
 * Single-thread microbenchmark of the allocator, tinybench.
 *
 * Two settings for the malloc(64)+free pair, reported side by side:
 *  - own isolate: each contender (hardened sabmalloc, `hardening: false`, @thi.ng/malloc,
 *    the floor) alone in a fresh worker (workers/micro.ts), warmed up by tinybench
 *    before it measures, as a user's worker warms up. Nothing else has run through the
 *    allocator's code in that isolate, so no other heap's or contender's type feedback
 *    shapes its compiled code. The fast-path ratios are judged on these rows.
 *  - one process: the tasks below, all in this thread with five sabmalloc heaps (both
 *    hardening modes, both buffer kinds, a churned heap), so the shared fast-path code has
 *    seen all of them: the realistic multi-heap case (tests, the lab, several heaps in one
 *    program). Its ratios are reported next to the isolated ones, with their own status.
 * Each round runs the one-process tasks, then every isolated contender in a new worker.
 *
 * The one-process tasks:
 *  (a) sabmalloc malloc(64) + free on the thread-cache fast path: the default (hardened) heap,
 *      a `hardening: false` heap, and a hardened heap over the other buffer kind (plain vs
 *      growable SharedArrayBuffer), so both kinds are live in this process (does
 *      mixing them make the fast path polymorphic? the rows say);
 *  (b) the same pair with @thi.ng/malloc's MemPool over an ArrayBuffer of the same size;
 *  (c) the floor: a bare typed-array free-list pop + push;
 *  (d) random churn: 1,000 live blocks of 16 B..1 KiB; each op frees a random live block and
 *      allocates a new random size into its slot. The slots and sizes are generated once, so
 *      sabmalloc and @thi.ng/malloc do exactly the same work.
 *  (e) the pair again on a fixed and a growable heap used alternately by one call site (both
 *      are plain SharedArrayBuffers now; growable-only buffers were once chosen so that this
 *      site would never see two buffer kinds);
 *  (f) user access (bench/micro/user-access.ts): workers bumping a byte of each of 4,096 blocks
 *      through `new Uint8Array(heap.buffer)` and through mallocAs views, fixed and growable
 *      heaps, 1 and 2 workers, against a plain SharedArrayBuffer.
 * Each tinybench sample runs a loop of OPS operations; ns/op = median sample time / OPS (the
 * mean is recorded too; the median resists interference from other work on the machine).
 * Every run makes 3 interleaved rounds of all tasks, each after tinybench's warm-up, and
 * takes the median over rounds. Quick mode (a smoke run and a first look) samples for
 * shorter, runs the own-isolate contenders in the first round only and the user access
 * through `new Uint8Array(heap.buffer)` only: each fresh worker costs more than its samples.
 * Ratios: hardened pair vs thi.ng (target <= 0.7x), `hardening: false` pair vs floor (target
 * <= 5x), hardened pair vs floor (target <= 8x), churn speed-up vs thi.ng (>= 100x).
 *
 * Run: `npx sabmalloc micro [--quick]` (also the first part of `sabmalloc bench`).
 * Writes <outDir>/micro.json and micro.md (default bench/results) unless `outDir: null`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { SharedHeap } from '../../src/index.js';
import { between, rng32 } from '../kit/prng.js';
import { runUserAccess, userAccessMarkdown, type UserAccessResult } from './user-access.js';
import { workerUrl } from '../kit/worker-url.js';

export interface MicroRow {
  name: string;
  /** 'isolate': measured alone in a fresh worker; 'process': in this process, next to every other task and heap */
  where: 'isolate' | 'process';
  /** median sample time / ops per sample (median over rounds of each round's median) */
  nsPerOp: number;
  /** mean sample time / ops per sample (median over rounds) */
  meanNsPerOp: number;
  /** relative margin of error of the mean, percent (median over rounds) */
  rmePct: number;
  /** samples over all rounds */
  samples: number;
  opsPerSample: number;
}

export interface MicroResult {
  command: string;
  date: string;
  quick: boolean;
  /** loadAvg1m: the 1-minute load average when the run ended (other work on the machine) */
  machine: { cpus: number; cpuModel: string; node: string; platform: string; arch: string; loadAvg1m: number };
  /** interleaved rounds of every task (3) */
  rounds: number;
  /** of those, the rounds that ran the own-isolate contenders (quick: 1) */
  isolatedRounds?: number;
  rows: MicroRow[];
  /** each contender alone in its own worker isolate (the targets are judged on these) */
  ratios: MicroRatios;
  /** the same ratios from the one-process rows (five heaps in one process), reported next to them */
  processRatios: MicroRatios;
  targets: { pairVsThing: number; unhardenedVsFloor: number; pairVsFloor: number; churnSpeedupVsThing: number };
  met: MicroMet;
  processMet: MicroMet;
  /** why a comparison is missing (e.g. @thi.ng/malloc not installed) */
  notes: string[];
  /** (f): user access through the heap's views vs a plain buffer (absent with userAccess: false) */
  userAccess?: UserAccessResult;
}

export interface MicroRatios {
  /** sabmalloc pair time / thi.ng pair time (lower is better) */
  pairVsThing: number | null;
  /** `hardening: false` pair time / free-list floor time */
  unhardenedVsFloor: number;
  /** sabmalloc pair time / free-list floor time */
  pairVsFloor: number;
  /** thi.ng churn time / sabmalloc churn time (higher is better; one-process rows only) */
  churnSpeedupVsThing: number | null;
}
export type MicroMet = { [K in keyof MicroRatios]: boolean | null };

export interface MicroOptions {
  quick?: boolean;
  /** write <outDir>/<name>.{json,md} (default true) */
  write?: boolean;
  /** results directory (default bench/results under the working directory); null writes nothing */
  outDir?: string | null;
  /** file name stem (default micro) */
  name?: string;
  /** print the table (default true) */
  print?: boolean;
  /** the command line recorded in the results */
  command?: string;
  /** run the user-access benchmark (f) (default true) */
  userAccess?: boolean;
  /** show the project's own targets and their status beside the ratios (default false) */
  targets?: boolean;
}

const TARGETS = { pairVsThing: 0.7, unhardenedVsFloor: 5, pairVsFloor: 8, churnSpeedupVsThing: 100 };
const HEAP_BYTES = 64 * 1024 * 1024;
const PAIR_OPS = 10_000;
const CHURN_OPS = 1_000;
const LIVE = 1_000;
const CHURN_SEQUENCE = 1 << 16;

/** Contenders of the own-isolate rows (workers/micro.ts builds each). */
export const ISOLATED = ['pair', 'pairUnhardened', 'thingPair', 'floor'] as const;
export type IsolatedContender = (typeof ISOLATED)[number];

/** tinybench settings of a task (the same in this process and in the isolated workers). */
// Quick sampling is a smoke run and a first look (figures flagged by their spread), not a
// measurement: a few seconds in all.
export const benchOptions = (quick: boolean) => ({ time: quick ? 60 : 1000, warmupTime: quick ? 25 : 200, warmupIterations: 8, iterations: 8 });

export const TASK = {
  pair: 'sabmalloc malloc(64)+free',
  pairUnhardened: 'sabmalloc malloc(64)+free, hardening: false',
  pairOtherKind: 'sabmalloc malloc(64)+free, heap on the other buffer kind',
  thingPair: '@thi.ng/malloc malloc(64)+free',
  floor: 'typed-array free-list pop+push (floor)',
  churn: 'sabmalloc churn (1,000 live, 16 B..1 KiB)',
  thingChurn: '@thi.ng/malloc churn (same sequence)',
  mixedPair: 'sabmalloc malloc(64)+free, fixed and growable heap alternately',
} as const;

/** The minimal allocator surface both contenders share. */
interface Allocator {
  malloc(n: number): number;
  free(p: number): unknown;
}

/** Pre-generated churn: initial sizes of the LIVE slots, then (slot, size) per op. */
interface ChurnPlan {
  initial: Int32Array;
  slots: Int32Array;
  sizes: Int32Array;
}

function churnPlan(): ChurnPlan {
  const next = rng32(0xc0ffee);
  const initial = Int32Array.from({ length: LIVE }, () => between(next, 16, 1024));
  const slots = Int32Array.from({ length: CHURN_SEQUENCE }, () => next() % LIVE);
  const sizes = Int32Array.from({ length: CHURN_SEQUENCE }, () => between(next, 16, 1024));
  return { initial, slots, sizes };
}

let sink = 0;

/*
 * Each contender gets its own copy of the loops (separate function literals): closures of
 * one literal share V8's type feedback, so a shared loop would turn polymorphic once the
 * second allocator ran and would measure dispatch, not allocators. The pair loop is one
 * source text compiled afresh per contender, with a numbered comment: V8 caches `new
 * Function` by source text, and identical texts share one feedback vector and one optimized
 * code (before this comment, every pair loop in this process was one function whose malloc
 * and free call sites had seen all contenders: thi.ng's pair was measured polymorphic too).
 */
const PAIR_LOOP_SOURCE = 'let s = 0; for (let i = 0; i < ops; i++) { const p = a.malloc(64); a.free(p); s ^= p; } return s;';
let pairLoops = 0;
export const pairTask = (a: Allocator): (() => void) => {
  const loop = new Function('a', 'ops', `${PAIR_LOOP_SOURCE} // pair loop ${++pairLoops}`) as (a: Allocator, ops: number) => number;
  return (): void => {
    sink ^= loop(a, PAIR_OPS);
  };
};

/** (e): half the ops on each heap, through one call site (its own literal). */
const mixedPairTask = (a: SharedHeap, b: SharedHeap) => (): void => {
  let s = 0;
  for (let i = 0; i < PAIR_OPS; i++) {
    const h = (i & 1) === 0 ? a : b;
    const p = h.malloc(64);
    h.free(p);
    s ^= p;
  }
  sink ^= s;
};

/**
 * A hardened heap over the buffer kind SharedHeap.create does not use (a plain
 * SharedArrayBuffer if create's buffers are growable, else a growable one): a fresh heap's
 * bytes copied into the other kind before any thread works on it, then attached (the
 * creator detached first, so the copy's slots are all free). Its pair loop runs through the
 * same SharedHeap/ThreadCache code as the default heap's, so both typed-array kinds reach
 * it in this process.
 */
function otherKindHeap(): SharedHeap {
  const h = SharedHeap.create({ size: HEAP_BYTES });
  h.detach();
  const n = h.buffer.byteLength;
  const copy = h.buffer.growable ? new SharedArrayBuffer(n) : new SharedArrayBuffer(n, { maxByteLength: n });
  new Uint8Array(copy).set(new Uint8Array(h.buffer));
  return SharedHeap.attach(copy);
}

export function floorTask(): () => void {
  const next = new Int32Array(1024);
  for (let i = 0; i < next.length; i++) next[i] = i + 1 < next.length ? i + 1 : -1;
  let head = 0;
  return () => {
    let s = 0;
    for (let i = 0; i < PAIR_OPS; i++) {
      const p = head; // pop
      head = next[p]!;
      next[p] = head; // push back
      head = p;
      s ^= p;
    }
    sink ^= s;
  };
}

/** Allocates the LIVE initial blocks of the plan. */
function churnSetup(a: Allocator, plan: ChurnPlan): Float64Array {
  const live = new Float64Array(LIVE);
  for (let k = 0; k < LIVE; k++) {
    live[k] = a.malloc(plan.initial[k]!);
    if (live[k] === 0) throw new Error('churn set-up: allocation failed');
  }
  return live;
}

// Separate literals again (see above); `at` walks the shared plan cyclically.
const sabChurnTask = (a: SharedHeap, plan: ChurnPlan) => {
  const live = churnSetup(a, plan);
  let at = 0;
  return (): void => {
    for (let i = 0; i < CHURN_OPS; i++) {
      const k = plan.slots[at]!;
      a.free(live[k]!);
      live[k] = a.malloc(plan.sizes[at]!);
      at = (at + 1) & (CHURN_SEQUENCE - 1);
    }
  };
};
const thingChurnTask = (a: Allocator, plan: ChurnPlan) => {
  const live = churnSetup(a, plan);
  let at = 0;
  return (): void => {
    for (let i = 0; i < CHURN_OPS; i++) {
      const k = plan.slots[at]!;
      a.free(live[k]!);
      const p = a.malloc(plan.sizes[at]!);
      if (p === 0) throw new Error('@thi.ng/malloc churn: allocation failed');
      live[k] = p;
      at = (at + 1) & (CHURN_SEQUENCE - 1);
    }
  };
};

/**
 * A factory of fresh @thi.ng/malloc pools (each over its own ArrayBuffer of HEAP_BYTES), or
 * why there is none: it is a dev dependency, so a production install runs without it.
 */
export async function thingPools(): Promise<(() => Allocator) | string> {
  try {
    const { MemPool } = await import('@thi.ng/malloc');
    return () => new MemPool({ buf: new ArrayBuffer(HEAP_BYTES), align: 16 });
  } catch (e) {
    return `@thi.ng/malloc unavailable (${(e as Error).message}); its comparisons are skipped`;
  }
}

function machine(): MicroResult['machine'] {
  return {
    cpus: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    loadAvg1m: Number(os.loadavg()[0]!.toFixed(2)),
  };
}

/** Per-round figures of one task (tinybench latency, ms per sample). */
interface RoundFigure {
  p50: number;
  mean: number;
  rme: number;
  samples: number;
}


/** Runs one contender alone in a fresh worker (workers/micro.ts); its tinybench figures. */
function runIsolated(contender: IsolatedContender, quick: boolean): Promise<RoundFigure | string> {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerUrl('micro'), { workerData: { contender, quick } });
    w.once('message', (m: RoundFigure | string) => {
      void w.terminate().then(() => resolve(m));
    });
    w.once('error', reject);
  });
}

const median = (xs: number[]): number => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 === 1 ? a[a.length >> 1]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
};

/** A row from a task's per-round figures: medians over rounds. */
function rowOf(name: string, where: MicroRow['where'], list: RoundFigure[]): MicroRow {
  const ops = name === TASK.churn || name === TASK.thingChurn ? CHURN_OPS : PAIR_OPS;
  return {
    name,
    where,
    nsPerOp: (median(list.map((x) => x.p50)) * 1e6) / ops,
    meanNsPerOp: (median(list.map((x) => x.mean)) * 1e6) / ops,
    rmePct: median(list.map((x) => x.rme)),
    samples: list.reduce((a, x) => a + x.samples, 0),
    opsPerSample: ops,
  };
}

/**
 * The fast-path ratios from the measured rows of one setting (`where`): null where a
 * contender has no row (thi.ng not installed; churn in the isolated setting).
 */
export function microRatios(rows: MicroRow[], where: MicroRow['where']): { ratios: MicroRatios; met: MicroMet } {
  const ns = (name: string): number | null => rows.find((r) => r.name === name && r.where === where)?.nsPerOp ?? null;
  const div = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a / b);
  const pair = ns(TASK.pair);
  const floor = ns(TASK.floor);
  if (pair === null || floor === null) throw new Error(`micro: no ${where} row for the pair or the floor`);
  const ratios: MicroRatios = {
    pairVsThing: div(pair, ns(TASK.thingPair)),
    unhardenedVsFloor: div(ns(TASK.pairUnhardened), floor)!,
    pairVsFloor: pair / floor,
    churnSpeedupVsThing: div(ns(TASK.thingChurn), ns(TASK.churn)),
  };
  const atMost = (x: number | null, t: number): boolean | null => (x === null ? null : x <= t);
  const met: MicroMet = {
    pairVsThing: atMost(ratios.pairVsThing, TARGETS.pairVsThing),
    unhardenedVsFloor: atMost(ratios.unhardenedVsFloor, TARGETS.unhardenedVsFloor),
    pairVsFloor: atMost(ratios.pairVsFloor, TARGETS.pairVsFloor),
    churnSpeedupVsThing: ratios.churnSpeedupVsThing === null ? null : ratios.churnSpeedupVsThing >= TARGETS.churnSpeedupVsThing,
  };
  return { ratios, met };
}

export async function runMicroBench(opts: MicroOptions = {}): Promise<MicroResult> {
  const quick = opts.quick ?? false;
  const bench = new Bench(benchOptions(quick));
  // Separate heaps and pools for the pair and the churn, so the pair runs on an empty heap
  // (with 1,000 live blocks @thi.ng/malloc's free walks them all).
  const pairHeap = SharedHeap.create({ size: HEAP_BYTES });
  const unhardenedHeap = SharedHeap.create({ size: HEAP_BYTES, hardening: false });
  const otherKind = otherKindHeap();
  const churnHeap = SharedHeap.create({ size: HEAP_BYTES });
  const growHeap = SharedHeap.create({ size: 1 << 20, maxSize: HEAP_BYTES });
  growHeap.free(growHeap.malloc(4 << 20)); // grown once
  const heaps = [pairHeap, unhardenedHeap, otherKind, churnHeap, growHeap];
  const thing = await thingPools();
  const plan = churnPlan();
  const notes: string[] = [];

  const kind = (b: SharedArrayBuffer): string => (b.growable ? 'growable' : 'plain');
  notes.push(
    `"own isolate" rows: each contender alone in a fresh worker, warmed up by tinybench first; the ratios below use them. ` +
      `"one process" rows: all tasks in one thread with ${heaps.length} sabmalloc heaps (hardened and hardening: false, ` +
      `${kind(pairHeap.buffer)} and ${kind(otherKind.buffer)} buffers, one churned), so the shared fast-path code has seen every one: ` +
      'what a program with several heaps gets. Load-independent instruction counts (callgrind): docs/notes/2026-11-26-fastpath.md',
  );
  bench.add(TASK.pair, pairTask(pairHeap));
  bench.add(TASK.pairUnhardened, pairTask(unhardenedHeap));
  bench.add(TASK.pairOtherKind, pairTask(otherKind));
  if (typeof thing !== 'string') bench.add(TASK.thingPair, pairTask(thing()));
  bench.add(TASK.floor, floorTask());
  bench.add(TASK.churn, sabChurnTask(churnHeap, plan));
  if (typeof thing !== 'string') bench.add(TASK.thingChurn, thingChurnTask(thing(), plan));
  else notes.push(thing);
  bench.add(TASK.mixedPair, mixedPairTask(pairHeap, growHeap));
  // Interleaved repetitions (every task once per round, then every isolated contender in a
  // new worker), so a burst of other work on the machine hits one round of every task
  // rather than all of one task; medians across rounds.
  const rounds = 3;
  const isolatedRounds = quick ? 1 : rounds;
  const perRound = new Map<string, RoundFigure[]>();
  const isolated = new Map<string, RoundFigure[]>();
  const push = (m: Map<string, RoundFigure[]>, name: string, f: RoundFigure): void => {
    m.set(name, [...(m.get(name) ?? []), f]);
  };
  for (let round = 0; round < rounds; round++) {
    if (round > 0) bench.reset();
    await bench.run();
    for (const t of bench.tasks) {
      const r = t.result;
      if (r.state !== 'completed') throw new Error(`benchmark ${t.name} did not complete: ${r.state === 'errored' ? r.error.message : r.state}`);
      const l = r.latency;
      push(perRound, t.name, { p50: l.p50, mean: l.mean, rme: l.rme, samples: l.samplesCount });
    }
    for (const c of round < isolatedRounds ? ISOLATED : []) {
      const got = await runIsolated(c, quick);
      if (typeof got === 'string') {
        if (round === 0) notes.push(`own isolate: ${got}`);
      } else push(isolated, TASK[c], got);
    }
  }
  for (const h of heaps) h.check();
  const rows: MicroRow[] = [
    ...[...isolated].map(([name, list]) => rowOf(name, 'isolate', list)),
    ...[...perRound].map(([name, list]) => rowOf(name, 'process', list)),
  ];
  for (const h of heaps) h.detach();
  const userAccess = (opts.userAccess ?? true) ? await runUserAccess({ quick, ...(quick ? { modes: ['view' as const] } : {}) }) : undefined;

  const own = microRatios(rows, 'isolate');
  const shared = microRatios(rows, 'process');
  const result: MicroResult = {
    command: opts.command ?? `sabmalloc micro${quick ? ' --quick' : ''}`,
    date: new Date().toISOString(),
    quick,
    rounds,
    ...(isolatedRounds !== rounds ? { isolatedRounds } : {}),
    machine: machine(),
    rows,
    ratios: own.ratios,
    processRatios: shared.ratios,
    targets: TARGETS,
    met: own.met,
    processMet: shared.met,
    notes,
    ...(userAccess ? { userAccess } : {}),
  };
  if (sink === 0.5) console.log(sink); // keeps the loops' results observable
  if (opts.print ?? true) printMicro(result, opts.targets ?? false);
  if ((opts.write ?? true) && opts.outDir !== null) writeMicro(result, opts.outDir, opts.name, opts.targets ?? false);
  return result;
}

const fmt = (x: number | null, digits = 3): string => (x === null ? 'n/a' : x.toFixed(digits));
const verdict = (ok: boolean | null): string => (ok === null ? 'n/a' : ok ? 'met' : 'MISSED');

const WHERE: Record<MicroRow['where'], string> = { isolate: 'own isolate', process: 'one process' };

/** The ratio rows; the project's target and its status as two more cells only with `targets`. */
function ratioLines(r: MicroResult, targets: boolean): string[][] {
  const lines: string[][] = [];
  const t = r.targets;
  const add = (label: string, key: keyof MicroRatios, target: string, digits = 3): void => {
    const tail = (ok: boolean | null) => (targets ? [target, verdict(ok)] : []);
    // churn runs in the one process only
    if (key !== 'churnSpeedupVsThing') lines.push([label, WHERE.isolate, `${fmt(r.ratios[key], digits)}x`, ...tail(r.met[key])]);
    lines.push([label, WHERE.process, `${fmt(r.processRatios[key], digits)}x`, ...tail(r.processMet[key])]);
  };
  add('pair vs @thi.ng/malloc pair', 'pairVsThing', `<= ${t.pairVsThing}x`);
  add('hardening: false pair vs free-list floor', 'unhardenedVsFloor', `<= ${t.unhardenedVsFloor}x`);
  add('pair vs free-list floor', 'pairVsFloor', `<= ${t.pairVsFloor}x`);
  add('churn speed-up vs @thi.ng/malloc', 'churnSpeedupVsThing', `>= ${t.churnSpeedupVsThing}x`, 0);
  return lines;
}

export function printMicro(r: MicroResult, targets = false): void {
  console.log(
    `sabmalloc microbenchmark (${r.machine.cpus} cores, Node ${r.machine.node.slice(1)}, ${r.machine.cpuModel}, load average ${r.machine.loadAvg1m})`,
  );
  console.table(
    r.rows.map((x) => ({
      benchmark: x.name,
      where: WHERE[x.where],
      'ns/op (median)': Number(x.nsPerOp.toFixed(2)),
      'ns/op (mean)': Number(x.meanNsPerOp.toFixed(2)),
      'mean ±%': Number(x.rmePct.toFixed(1)),
      samples: x.samples,
    })),
  );
  console.table(ratioLines(r, targets).map(([ratio, where, value, target, status]) => ({ ratio, where, value, ...(targets ? { target, status } : {}) })));
  for (const n of r.notes) console.log(`note: ${n}`);
  if (r.userAccess) console.log(userAccessMarkdown(r.userAccess, targets).join('\n'));
}

export function microMarkdown(r: MicroResult, targets = false): string {
  const lines = [
    '### Microbenchmark (single thread, `bench/micro/micro.ts`)',
    '',
    `Command: \`${r.command}\`${r.quick ? ' (quick mode: short sampling, own-isolate rows from one round, user access through views only)' : ''}. ` +
      `Machine: ${r.machine.cpus} cores, Node ${r.machine.node.slice(1)}, ${r.machine.cpuModel}, ${r.machine.platform}/${r.machine.arch}, ` +
      `1-minute load average ${r.machine.loadAvg1m} at the end of the run; ${r.date.slice(0, 10)}. ` +
      `${r.rounds} interleaved round(s)${r.isolatedRounds !== undefined && r.isolatedRounds !== r.rounds ? ` (own isolate: ${r.isolatedRounds})` : ''}; ratios use the medians.`,
    '',
    '| benchmark | where | ns/op (median) | ns/op (mean) | mean ±% | samples |',
    '|---|---|---:|---:|---:|---:|',
    ...r.rows.map((x) => `| ${x.name} | ${WHERE[x.where]} | ${x.nsPerOp.toFixed(2)} | ${x.meanNsPerOp.toFixed(2)} | ${x.rmePct.toFixed(1)} | ${x.samples} |`),
    '',
    targets ? '| ratio | where | value | target | status |' : '| ratio | where | value |',
    targets ? '|---|---|---:|---:|---|' : '|---|---|---:|',
    ...ratioLines(r, targets).map((l) => `| ${l.join(' | ')} |`),
    ...r.notes.map((n) => `\nNote: ${n}`),
    '',
    ...(r.userAccess ? [...userAccessMarkdown(r.userAccess, targets), ''] : []),
  ];
  return lines.join('\n');
}

/** Writes <outDir>/<name>.json and .md; returns the directory. */
export function writeMicro(r: MicroResult, outDir = 'bench/results', name = 'micro', targets = false): string {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${name}.json`), JSON.stringify(r, null, 2) + '\n');
  writeFileSync(join(outDir, `${name}.md`), microMarkdown(r, targets));
  return outDir;
}
