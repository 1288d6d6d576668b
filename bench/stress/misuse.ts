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
import { describeRace, RC, raceLayout, raceTotals, type RaceCounts, type RaceTask, type WatchdogTask } from './race.js';
import type { MisuseSummary, ResolvedStressOptions, StressOptions, StressSummary } from './options.js';
import { boundedSettle, finalState } from './phases.js';

export async function runMisuse(
  heap: SharedHeap,
  o: ResolvedStressOptions,
  options: StressOptions,
  summary: StressSummary,
  started: number,
  url: URL,
): Promise<StressSummary> {
  const failures = summary.failures;
  const m: MisuseSummary = {
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
  summary.misuse = m;
  const control = new SharedArrayBuffer(raceLayout(o.workers, o.raceWidth).words * 4);
  const rc = new Int32Array(control);
  const salt = deriveSeed(o.seed, 0, 0xfffff);
  const deadline = o.durationSec > 0 ? Date.now() + o.durationSec * 1000 : 0;
  const phaseTimeout = options.phaseTimeoutMs ?? 120_000 + o.durationSec * 1000 + o.ops * 200;
  const common = { execArgv: [...POOL_EXEC_ARGV], filename: url.href, concurrentTasksPerWorker: 1, idleTimeout: 600_000, maxQueue: 'auto' as const };
  const racers = new Piscina({ ...common, minThreads: o.workers, maxThreads: o.workers });
  const dogPool = new Piscina({ ...common, minThreads: 1, maxThreads: 1 });
  // Failures arrive as they happen (a run that hangs still reports everything before).
  const channelName = `sabmalloc-race-${process.pid}-${started}-${o.seed}`;
  const channel = new BroadcastChannel(channelName);
  channel.onmessage = (e: MessageEvent) => {
    failures.push(e.data as StressFailure);
  };
  const dogTask: WatchdogTask = { heap: heap.buffer, control, pauseMs: 1, channel: channelName };
  const dog = dogPool.run(dogTask, { name: 'watchdog' }) as Promise<{ threadId: number }>;
  // The watchdog's check() calls must keep returning: a call that does not within hangMs is a hang.
  let lastBeat = -1;
  let lastBeatAt = Date.now();
  let dogHung = false;
  const dogTimer = setInterval(() => {
    const beat = Atomics.load(rc, RC.WD_BEAT);
    if (beat !== lastBeat) {
      lastBeat = beat;
      lastBeatAt = Date.now();
    } else if (!dogHung && Atomics.load(rc, RC.WD_BUSY) === 1 && Date.now() - lastBeatAt > o.hangMs) {
      dogHung = true;
      m.hangs++;
      failures.push({
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
  }, options.progressIntervalMs ?? 1000);
  let healthy = true;
  const workStart = Date.now();
  try {
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
        channel: channelName,
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
      healthy = false;
    } else {
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
      if (m.hangs > 0) healthy = false;
    }
  } finally {
    Atomics.store(rc, RC.WD_STOP, 1);
    Atomics.notify(rc, RC.WD_STOP);
    const watched = await boundedSettle([dog], dogHung ? 1_000 : o.hangMs, () => undefined);
    clearInterval(dogTimer);
    const d = watched?.[0];
    if (d?.status !== 'fulfilled') {
      healthy = false;
      if (!dogHung) {
        m.hangs++;
        failures.push({ kind: 'hang', seenBy: 'the main thread', detail: `the watchdog did not stop: ${d?.status === 'rejected' ? String(d.reason) : 'its check() never returned'}` });
      }
    }
    await Promise.all([racers.destroy(), dogPool.destroy()]);
    // Let the last posted failures arrive, then take the counts.
    await new Promise((r) => setTimeout(r, 50));
    channel.close();
    const hangs = m.hangs;
    Object.assign(m, raceTotals(control));
    m.hangs += hangs;
    m.watchdogChecks = Atomics.load(rc, RC.WD_BEAT);
    m.watchdogFailures = Atomics.load(rc, RC.WD_FAILED);
  }
  summary.ops = m.phases;
  summary.rounds = 1;
  if (healthy) {
    heap.trim();
    const fin = finalState(heap, failures, 'the end of the racing-misuse run');
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
  summary.ok = failures.length === 0;
  return summary;
}

/** allSettled within ms; else `stop()`, 10 s more; null if still not settled. */
