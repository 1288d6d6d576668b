/**
 * Killed workers: 36 times by default (every pair of lock kinds once), a busy run of 4
 * workers on one heap loses one of them at a random moment, by worker.terminate() (anywhere, including inside a critical
 * section or while attaching), by an uncaught exception, or by process.exit() inside it.
 * On its 'exit' the main thread calls heap.recover(threadId). Then:
 * - the other workers finish their work with zero failures (no hang: every wait is bounded);
 * - every block the dead worker held (its table, the block its interrupted operation was
 *   about) is still intact and allocated, and is freed by the main thread;
 * - at most one block is lost to the bookkeeping (returned by malloc just before the kill);
 * - check() passes, and the heap goes on serving.
 * The runs cycle through every (central, page heap) pair of lock kinds, the queue locks
 * included: a worker killed while queued for a ticket or MCS lock has its turn passed on.
 * Plain worker_threads Workers (test/fixtures/killable-worker.ts) so the test owns terminate();
 * the three survivors are reused from run to run, only the dead worker is replaced.
 *
 * Knobs for hunting a rare hang by brute force (docs/notes/2026-11-26-killed-hang.md); the defaults
 * are what `npm test` runs: KILLED_RUNS=n (36; the soak in docs/hacking.md runs 200), KILLED_LOCKS=central/pageHeap (e.g.
 * ttas/ttas; default: cycle through every pair), KILLED_SEED=n (0xdead: which worker dies
 * how and when), KILLED_TIMEOUT=ms (the file's backstop, 1200000).
 */
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { formatFailure, freeHeld, inFlightBlocks } from '../../bench/stress/run.js';
import { SharedHeap } from '../../src/index.js';
import type { RecoveryReport } from '../../src/core/recovery.js';
import { CENTRAL_WORDS, H, S, slotWordOf } from '../../src/core/layout.js';
import { LOCK_KINDS, LockNode, holderOf, lockKindFromCode, type LockKind } from '../../src/locks/index.js';
import {
  CW,
  controlLayout,
  controlViews,
  statsBase,
  WS,
} from '../../bench/stress/shared.js';
import { deriveSeed, rng32 } from '../../bench/kit/prng.js';
import type { StressTask, WorkCounts } from '../../bench/stress/types.js';
import { fixtureUrl } from '../helpers/fixtures.js';

const RUNS = Number(process.env.KILLED_RUNS ?? 36);
const PAIR = process.env.KILLED_LOCKS ? (process.env.KILLED_LOCKS.split('/') as [LockKind, LockKind]) : undefined;
const SEED = Number(process.env.KILLED_SEED ?? 0xdead);
const WORKERS = 4;
const SURVIVOR_OPS = 300;
const MiB = 1024 * 1024;
const WORKER_URL = fixtureUrl('killable-worker');

type How = 'terminate' | 'terminate-early' | 'throw' | 'exit';

/**
 * A hang inside the main thread (recover(), check() or malloc() waiting forever on a lock)
 * blocks its event loop, so no timer can fail the test. This watchdog thread kills the test
 * process instead when the main thread stops making progress for two minutes: a crash
 * fails the file, a hang would stall the whole run.
 */
function startWatchdog(): { beat: () => void; stop: () => void } {
  const b = new Int32Array(new SharedArrayBuffer(4));
  const w = new Worker(
    `const { workerData: b } = require('node:worker_threads');
     let last = Atomics.load(b, 0), since = Date.now();
     const t = setInterval(() => {
       const v = Atomics.load(b, 0);
       if (v === -1) return clearInterval(t);
       if (v !== last) { last = v; since = Date.now(); return; }
       if (Date.now() - since > 120000) {
         process._rawDebug('killed.test.ts: the main thread made no progress for 120 s (hang in recover/check/malloc); killing the test process');
         process.kill(process.pid, 'SIGKILL');
       }
     }, 1000);`,
    { eval: true, workerData: b },
  );
  w.unref();
  return {
    beat: () => void Atomics.add(b, 0, 1),
    stop: () => {
      Atomics.store(b, 0, -1);
      void w.terminate();
    },
  };
}

/** Rejects after `ms` (a hang), so no run can block the file; `state` describes the heap then. */
function bounded<T>(p: Promise<T>, ms: number, what: string, state: () => string = () => ''): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (hang?) ${state()}`)), ms)),
  );
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

/** For a hang report: every held lock with its holder, and every attached slot with what it waits for. */
function lockState(heap: SharedHeap, cv: ReturnType<typeof controlViews>): string {
  const i32 = heap.mem.i32;
  const L = heap.layout;
  const held: string[] = [];
  const ph = lockKindFromCode(i32[H.PAGEHEAP_LOCK_KIND]!)!;
  const central = lockKindFromCode(i32[H.CENTRAL_LOCK_KIND]!)!;
  const h = holderOf(ph, i32, L.pageHeap >>> 2);
  if (h !== 0) held.push(`pageHeap(${ph}) by ${h}`);
  for (let c = 1; c < heap.sizeClasses.count; c++) {
    const w = (L.central >>> 2) + c * CENTRAL_WORDS;
    const hc = holderOf(central, i32, w);
    if (hc !== 0) held.push(`central[${c}](${central}) by ${hc}`);
  }
  const slots: string[] = [];
  for (let k = 0; k < L.maxThreads; k++) {
    const w = slotWordOf(L, k);
    if (i32[w + S.STATE] === 0) continue;
    slots.push(`slot ${k} state ${i32[w + S.STATE]} thread ${i32[w + S.THREAD_ID]} log ${i32[w + S.LOG_LEN]} waits ${i32[w + L.slot.lockNode + LockNode.WAIT]}`);
  }
  const ops = Array.from({ length: WORKERS }, (_, v) => cv.f64[statsBase(v) + WS.OPS]);
  return `[held: ${held.join(', ') || 'none'}; ${slots.join('; ')}; worker ops ${ops.join(',')}]`;
}

class Slot {
  worker: Worker;
  /** read at spawn: worker.threadId reads -1 once the worker has exited */
  threadId: number;
  exited: Promise<number>;
  error: Error | undefined;
  constructor() {
    this.worker = new Worker(WORKER_URL);
    this.threadId = this.worker.threadId;
    this.worker.on('error', (e) => (this.error = e));
    this.exited = new Promise((resolve) => this.worker.once('exit', resolve));
  }
  run(task: StressTask): Promise<WorkCounts> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: WorkCounts): void => {
        this.worker.off('exit', onExit);
        resolve(m);
      };
      const onExit = (code: number): void => {
        this.worker.off('message', onMessage);
        reject(new Error(`worker exited (code ${code})${this.error ? `: ${this.error.message}` : ''}`));
      };
      this.worker.once('message', onMessage);
      this.worker.once('exit', onExit);
      this.worker.postMessage(task);
    });
  }
}

describe('killed workers', () => {
  const slots: Slot[] = Array.from({ length: WORKERS }, () => new Slot());
  afterAll(async () => {
    await Promise.all(slots.map((s) => s.worker.terminate()));
  });

  it(
    `${RUNS} runs, one worker killed at a random moment in each: the rest finish, check() passes`,
    async () => {
      const next = rng32(SEED);
      const tally: Record<How, number> = { terminate: 0, 'terminate-early': 0, throw: 0, exit: 0 };
      let killedMidRun = 0;
      let locksReleased = 0;
      let writesUndone = 0;
      let cachedReturned = 0;
      let inFlightFreed = 0;
      let lost = 0;
      // Slowest survivors (ms from handing out the tasks until all three answered): how
      // close a loaded machine comes to the 60 s hang guard (docs/notes/2026-11-26-killed-hang.md).
      let slowest = { ms: 0, run: '' };
      const layout = controlLayout(WORKERS, 16, 16);

      const watchdog = startWatchdog();
      try {
        for (let run = 0; run < RUNS; run++) {
          watchdog.beat();
          const r = next() % 100;
          const how: How = r < 10 ? 'terminate-early' : r < 70 ? 'terminate' : r < 85 ? 'throw' : 'exit';
          tally[how]++;
          const victim = next() % WORKERS;
          const central = PAIR?.[0] ?? LOCK_KINDS[run % 6]!;
          const pageHeap = PAIR?.[1] ?? LOCK_KINDS[Math.floor(run / 6) % 6]!;
          const kinds = `central ${central}, page heap ${pageHeap}`;
          const what = `run ${run} (${how} worker ${victim}, ${kinds})`;
          // A fixed heap: growth under concurrency is excluded until its known corruption is fixed.
          const heap = SharedHeap.create({
            size: 16 * MiB,
            maxThreads: 16,
            // Every pair of lock kinds (queue locks included: a thread killed while queued for
            // one has its turn passed on by recover()).
            locks: { central, pageHeap },
          });
          const ctrl = heap.malloc(layout.bytes);
          new Uint8Array(heap.buffer, ctrl, layout.bytes).fill(0);
          const cv = controlViews(heap.buffer, ctrl, layout);
          const salt = deriveSeed(run, 0, 0xbeef);
          const task = (w: number): StressTask => ({
            buffer: heap.buffer,
            ctrl,
            workers: WORKERS,
            handoffSlots: layout.handoffSlots,
            localCap: layout.localCap,
            salt,
            worker: w,
            ops: w === victim ? 0 : SURVIVOR_OPS, // the victim works until it dies (or STOP)
            deadline: Date.now() + 20_000,
            seed: deriveSeed(SEED, run, w),
            sizes: 'mixed',
            remoteFreeRate: 0.5,
            reallocRate: 0.1,
            liveBudget: 256 * 1024,
            ...(w === victim && (how === 'throw' || how === 'exit') ? { dieAtOp: next() % 200, dieHow: how } : {}),
          });

          const dead = slots[victim]!;
          let report: RecoveryReport | undefined;
          let active = true; // a victim that survives this run is reused: its exit belongs to a later run
          const recovered = dead.exited.then((code) => {
            watchdog.beat();
            if (active) report = heap.recover(dead.threadId);
            watchdog.beat();
            return code;
          });
          const started = performance.now();
          const results = slots.map((s, w) => s.run(task(w)));
          const victimDone = results[victim]!.then(
            () => false,
            () => true, // it died
          );
          if (how === 'terminate-early') {
            await dead.worker.terminate();
          } else if (how === 'terminate') {
            // Kill at a random point of its work: after a random number of its operations.
            const at = next() % 250;
            const b = statsBase(victim);
            await bounded(
              (async () => {
                while (cv.f64[b + WS.OPS]! < at && cv.f64[b + WS.DONE] !== 1) await new Promise((res) => setImmediate(res));
              })(),
              30_000,
              `${what}: waiting for the victim to work`,
            );
            await dead.worker.terminate();
          }
          const survivors = await bounded(Promise.all(results.filter((_, w) => w !== victim)), 60_000, `${what}: survivors`, () =>
            lockState(heap, cv),
          );
          const took = performance.now() - started;
          if (took > slowest.ms) slowest = { ms: Math.round(took), run: what };
          Atomics.store(cv.i32, CW.STOP, 1); // a victim that outlived its death op stops now
          const died = await bounded(victimDone, 30_000, `${what}: victim`);
          if (died) {
            await bounded(recovered, 30_000, `${what}: recovery`);
            if (how !== 'terminate-early') killedMidRun++;
            slots[victim] = new Slot();
            expect(report, `${what}: recover() ran`).toBeDefined();
            locksReleased += report!.locksReleased.length;
            writesUndone += report!.writesUndone;
            cachedReturned += report!.cachedObjectsReturned;
          }
          for (const s of survivors) expect(s.failures.map(formatFailure), what).toEqual([]);

          // The dead worker's interrupted operation, then everything anyone holds: intact, freed.
          const loose = died ? inFlightBlocks(heap, cv, victim, salt) : [];
          inFlightFreed += loose.length;
          for (const p of loose) heap.free(p);
          expect(freeHeld(heap, cv, salt, 'the main thread').map(formatFailure), what).toEqual([]);
          watchdog.beat();
          heap.free(ctrl);
          heap.check();
          const s = heap.stats();
          expect(s.inUseObjects, `${what}: blocks lost to the bookkeeping`).toBeLessThanOrEqual(died ? 1 : 0);
          lost += s.inUseObjects;
          // Service goes on.
          const fresh = [24, 5000, 300 * 1024].map((n) => heap.malloc(n));
          for (const p of fresh) heap.free(p);
          heap.check();
          active = false;
          heap.detach();
        }
      } finally {
        watchdog.stop();
      }
      // The runs did what they claim: most victims died in the middle of their work.
      expect(killedMidRun, JSON.stringify(tally)).toBeGreaterThanOrEqual(RUNS * 0.75);
      // Enough runs hit every way to die (the seed is fixed: the same ways every time).
      if (RUNS >= 36) for (const [how, n] of Object.entries(tally)) expect(n, `no run killed by ${how}`).toBeGreaterThan(0);
      console.log(
        `killed-worker runs: ${JSON.stringify(tally)}, killed mid-run ${killedMidRun}, locks released ${locksReleased}, ` +
          `writes undone ${writesUndone}, cached objects returned ${cachedReturned}, in-flight blocks freed ${inFlightFreed}, lost ${lost}; ` +
          `slowest survivors ${slowest.ms} ms (${slowest.run})`,
      );
    },
    // A backstop only: every run has its own 60 s hang guards; a 200-run soak takes 2-3 min
    // idle but over 5 min when the machine is loaded (load 30-60 while other suites run).
    Number(process.env.KILLED_TIMEOUT ?? 1_200_000),
  );
});
