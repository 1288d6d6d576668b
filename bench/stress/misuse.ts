/**
 * The racing-misuse mode of the stress tester (`misuse: true`): groups of workers misuse
 * the heap at the same moment (race.ts) while a watchdog runs check({ quiescent: false });
 * afterwards the same clean-heap checks as a normal run (phases.ts).
 */
import { Piscina } from 'piscina';
import { SharedHeap } from '../../src/index.js';
import { POOL_EXEC_ARGV } from '../../src/pool/heappool.js';
import { deriveSeed } from '../kit/prng.js';
import type { StressFailure } from './types.js';
import { describeRace, RC, raceLayout, raceTotals, type RaceCounts, type RaceTask } from './race.js';
import type { WatchdogTask } from './watchdog.js';
import type { MisuseSummary, ResolvedStressOptions, StressOptions, StressSummary } from './options.js';
import { boundedSettle, finalState } from './phases.js';

/** What the steps of one racing-misuse run share. */
interface MisuseRun {
  readonly heap: SharedHeap;
  readonly o: ResolvedStressOptions;
  readonly options: StressOptions;
  readonly summary: StressSummary;
  readonly m: MisuseSummary;
  readonly control: SharedArrayBuffer;
  readonly rc: Int32Array;
  readonly started: number;
  /** the BroadcastChannel failures arrive on as they happen */
  readonly channelName: string;
}

export async function runMisuse(
  heap: SharedHeap,
  o: ResolvedStressOptions,
  options: StressOptions,
  summary: StressSummary,
  started: number,
  url: URL,
): Promise<StressSummary> {
  const m = emptyMisuse();
  summary.misuse = m;
  const control = new SharedArrayBuffer(raceLayout(o.workers, o.raceWidth).words * 4);
  const run: MisuseRun = { heap, o, options, summary, m, control, rc: new Int32Array(control), started, channelName: `sabmalloc-race-${process.pid}-${started}-${o.seed}` };
  const common = { execArgv: [...POOL_EXEC_ARGV], filename: url.href, concurrentTasksPerWorker: 1, idleTimeout: 600_000, maxQueue: 'auto' as const };
  const racers = new Piscina({ ...common, minThreads: o.workers, maxThreads: o.workers });
  const dogPool = new Piscina({ ...common, minThreads: 1, maxThreads: 1 });
  // Failures arrive as they happen (a run that hangs still reports everything before).
  const channel = new BroadcastChannel(run.channelName);
  channel.onmessage = (e: MessageEvent) => {
    summary.failures.push(e.data as StressFailure);
  };
  const dogTask: WatchdogTask = { heap: heap.buffer, control, pauseMs: 1, channel: run.channelName };
  const dog = dogPool.run(dogTask, { name: 'watchdog' }) as Promise<{ threadId: number }>;
  const monitor = watchWatchdog(run);
  let healthy = true;
  try {
    healthy = await runRacers(run, racers);
  } finally {
    healthy = (await stopWatchdog(run, dog, monitor)) && healthy;
    await Promise.all([racers.destroy(), dogPool.destroy()]);
    // Let the last posted failures arrive, then take the counts.
    await new Promise((r) => setTimeout(r, 50));
    channel.close();
    const hangs = m.hangs;
    Object.assign(m, raceTotals(control));
    m.hangs += hangs;
    m.watchdogChecks = Atomics.load(run.rc, RC.WD_BEAT);
    m.watchdogFailures = Atomics.load(run.rc, RC.WD_FAILED);
  }
  return finishMisuse(run, healthy);
}

function emptyMisuse(): MisuseSummary {
  return {
    phases: 0,
    freeFree: 0,
    freeRealloc: 0,
    byWidth: {},
    bySize: {},
    succeeded: 0,
    typedErrors: {},
    undetected: 0,
    refused: 0,
    corruption: 0,
    hangs: 0,
    unexpected: 0,
    churned: 0,
    oom: 0,
    watchdogChecks: 0,
    watchdogFailures: 0,
  };
}

interface WatchdogMonitor {
  readonly timer: NodeJS.Timeout;
  /** true once the watchdog's check() was seen stuck */
  hung: boolean;
}

/**
 * Watches the watchdog's heartbeat: its check() calls must keep returning, and one that does
 * not within hangMs is a hang (the run is aborted). Also reports progress.
 */
function watchWatchdog({ heap, o, options, summary, m, control, rc, started }: MisuseRun): WatchdogMonitor {
  let lastBeat = -1;
  let lastBeatAt = Date.now();
  const monitor: WatchdogMonitor = {
    hung: false,
    timer: setInterval(() => {
      const beat = Atomics.load(rc, RC.WD_BEAT);
      if (beat !== lastBeat) {
        lastBeat = beat;
        lastBeatAt = Date.now();
      } else if (!monitor.hung && Atomics.load(rc, RC.WD_BUSY) === 1 && Date.now() - lastBeatAt > o.hangMs) {
        monitor.hung = true;
        m.hangs++;
        summary.failures.push({
          kind: 'hang',
          seenBy: 'the main thread',
          detail: `a concurrent check({ quiescent: false }) did not return within ${o.hangMs} ms; racers at ${describeRace(control, o.workers, o.raceWidth)}`,
        });
        Atomics.store(rc, RC.ABORT, 1);
        Atomics.notify(rc, RC.BAR_GEN);
      }
      options.onProgress?.({
        round: 0,
        phase: 'work',
        elapsedMs: Date.now() - started,
        ops: Atomics.load(rc, RC.PHASE_NO),
        opsPerSec: 0,
        liveBytes: 0,
        committedBytes: heap.stats().committedBytes,
        workersDone: 0,
        workers: o.workers,
      });
    }, options.progressIntervalMs ?? 1000),
  };
  return monitor;
}

/** The racers' phases, bounded; false when they hung (the heap is then left alone). */
async function runRacers(run: MisuseRun, racers: Piscina): Promise<boolean> {
  const { heap, o, options, summary, m, control, rc } = run;
  const failures = summary.failures;
  const salt = deriveSeed(o.seed, 0, 0xfffff);
  const deadline = o.durationSec > 0 ? Date.now() + o.durationSec * 1000 : 0;
  const phaseTimeout = options.phaseTimeoutMs ?? 120_000 + o.durationSec * 1000 + o.ops * 200;
  const workStart = Date.now();
  const tasks: Promise<RaceCounts>[] = [];
  for (let w = 0; w < o.workers; w++) {
    const t: RaceTask = {
      heap: heap.buffer,
      control,
      worker: w,
      workers: o.workers,
      maxWidth: o.raceWidth,
      phases: o.ops,
      deadline,
      seed: deriveSeed(o.seed, 0, w),
      salt,
      sizes: o.raceSizes,
      reallocShare: o.reallocRate,
      hangMs: o.hangMs,
      channel: run.channelName,
    };
    tasks.push(racers.run(t, { name: 'race' }) as Promise<RaceCounts>);
  }
  let stopped = false;
  const settled = await boundedSettle(tasks, phaseTimeout, () => {
    stopped = true;
    Atomics.store(rc, RC.STOP, 1);
  });
  summary.workMs = Date.now() - workStart;
  if (stopped && settled !== null) {
    m.hangs++;
    failures.push({ kind: 'hang', seenBy: 'the main thread', detail: `the racers needed a STOP after ${phaseTimeout} ms (progress too slow or stuck)` });
  }
  if (settled === null) {
    m.hangs++;
    failures.push({
      kind: 'hang',
      seenBy: 'the main thread',
      detail: `the racers did not finish within ${phaseTimeout} ms (nor 10 s after STOP): ${describeRace(control, o.workers, o.raceWidth)}`,
    });
    m.phases = Atomics.load(rc, RC.PHASE_NO);
    return false;
  }
  const threads = new Set<number>();
  for (const r of settled) {
    if (r.status === 'rejected') {
      m.unexpected++;
      failures.push({ kind: 'error', seenBy: 'a racer', detail: `task failed: ${(r.reason as Error)?.stack ?? String(r.reason)}` });
      continue;
    }
    threads.add(r.value.threadId);
    if (r.value.worker === 0) m.phases = r.value.phases;
  }
  summary.threadsUsed = threads.size;
  return m.hangs === 0;
}

/** Stops the watchdog and waits for it; false when it did not stop (a hang). */
async function stopWatchdog({ o, summary, m, rc }: MisuseRun, dog: Promise<unknown>, monitor: WatchdogMonitor): Promise<boolean> {
  Atomics.store(rc, RC.WD_STOP, 1);
  Atomics.notify(rc, RC.WD_STOP);
  const watched = await boundedSettle([dog], monitor.hung ? 1_000 : o.hangMs, () => undefined);
  clearInterval(monitor.timer);
  const d = watched?.[0];
  if (d?.status === 'fulfilled') return true;
  if (!monitor.hung) {
    m.hangs++;
    summary.failures.push({ kind: 'hang', seenBy: 'the main thread', detail: `the watchdog did not stop: ${d?.status === 'rejected' ? String(d.reason) : 'its check() never returned'}` });
  }
  return false;
}

/** The same clean-heap checks as a normal run, when nothing hung. */
function finishMisuse({ heap, summary, m, started }: MisuseRun, healthy: boolean): StressSummary {
  summary.ops = m.phases;
  summary.rounds = 1;
  if (healthy) {
    heap.trim();
    const fin = finalState(heap, summary.failures, 'the end of the racing-misuse run');
    if (!fin.checkPassed) m.corruption++;
    summary.final = fin;
    const s = heap.stats();
    summary.locks = s.locks;
    summary.growCount = s.growCount;
    summary.heapBytes = s.heapBytes;
    summary.maxHeapBytes = s.maxHeapBytes;
    heap.detach();
  }
  summary.elapsedMs = Date.now() - started;
  summary.ok = summary.failures.length === 0;
  return summary;
}
/** allSettled within ms; else `stop()`, 10 s more; null if still not settled. */
