/**
 * Lock lab tests: mutual exclusion under 8+ real workers for every lock kind, tryLock and
 * holder() semantics, statistics, recovery (forceUnlock), the stats summary, and the pool of
 * lock threads the runs use.
 * Workers run the compiled dist/workers/lock-deaths.js (`npm test` builds first): every
 * thread that is not killed comes from one pool kept for the file (bench/locks/threads.ts),
 * since starting a worker costs more CPU than most runs here; a thread to kill starts fresh.
 * No assertion depends on timing.
 */
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import {
  LOCK_KINDS,
  LOCK_LATENCY_BUCKETS,
  LOCK_NODE_WORDS,
  LOCK_STAT_SLOTS,
  LOCK_WORDS,
  LockStat,
  createLock,
  forceUnlock,
  holderOf,
  initLockBlock,
  LockNode,
  recoverLock,
  summarizeLockStats,
  type LockKind,
} from '../../src/locks/index.js';
import { latencyBucket } from '../../src/locks/common.js';
import {
  CTRL,
  LOCK_WORD,
  hammerWords,
  nestedCounterWord,
  nodeWordOf,
  statsBaseOf,
  type HammerResult,
  type HammerTask,
} from '../../bench/locks/hammer.js';
import { DEATH_RUN_ITERATIONS, RECORDS_WAIT, boundedWait, deadThreadRun, until } from '../../bench/locks/deaths.js';
import { LockThreads, lockThreads } from '../../bench/locks/threads.js';

const WORKER_URL = new URL('../../dist/workers/lock-deaths.js', import.meta.url);
const KINDS: readonly LockKind[] = LOCK_KINDS;
const WORKERS = 8;

interface Run {
  results: HammerResult[];
  counter: number;
  stats: Float64Array;
}

/** One hammer task on a pooled thread (bench/locks/threads.ts): only killed threads are started fresh. */
const spawn = (task: HammerTask): Promise<HammerResult> => lockThreads.run(task).done;
afterAll(() => lockThreads.close());

/**
 * `workers` threads each take the lock `iterations` times, released together. The main
 * thread (owner id workers + 1) holds the lock across the start for a moment, so the
 * workers' first attempts meet a held lock even when the machine is so loaded that they
 * would otherwise run one after the other.
 */
async function hammerRun(kind: LockKind, workers: number, iterations: number, extra: Partial<HammerTask> = {}): Promise<Run> {
  const sab = new SharedArrayBuffer(hammerWords(workers + 1) * 4);
  const statsSab = new SharedArrayBuffer(workers * LOCK_STAT_SLOTS * 8);
  const i32 = new Int32Array(sab);
  initLockBlock(i32, LOCK_WORD);
  const runs: Promise<HammerResult>[] = [];
  for (let id = 1; id <= workers; id++) {
    runs.push(
      spawn({ sab, statsSab, kind, ownerId: id, iterations, csWrites: 4, outsideWork: 16, useTryLock: true, ...extra }),
    );
  }
  while (Atomics.load(i32, CTRL.ready) < workers) await new Promise((r) => setTimeout(r, 2));
  const starter = lockFor(kind, i32, workers + 1);
  starter.lock();
  Atomics.store(i32, CTRL.go, 1);
  Atomics.notify(i32, CTRL.go);
  await new Promise((r) => setTimeout(r, 20));
  starter.unlock();
  const results = await Promise.all(runs);
  return { results, counter: Atomics.load(i32, CTRL.counter), stats: new Float64Array(statsSab) };
}

function blockWith(ids: number): Int32Array {
  const i32 = new Int32Array(new SharedArrayBuffer(hammerWords(ids) * 4));
  initLockBlock(i32, LOCK_WORD);
  return i32;
}

function lockFor(kind: LockKind, i32: Int32Array, ownerId: number, stats?: Float64Array) {
  return createLock(kind, { i32, word: LOCK_WORD, ownerId, nodeWord: nodeWordOf, stats, statsBase: stats ? 0 : undefined });
}

it('the compiled lock worker exists (run `npm run build`)', () => {
  expect(existsSync(WORKER_URL)).toBe(true);
});

describe.each(KINDS)('%s lock', (kind) => {
  it(`keeps ${WORKERS} workers mutually exclusive and loses no increment`, async () => {
    const iterations = 1000;
    const { results, counter, stats } = await hammerRun(kind, WORKERS, iterations);
    const total = results.reduce((a, r) => a + r.acquisitions, 0);
    expect(total).toBe(WORKERS * iterations);
    expect(results.reduce((a, r) => a + r.violations, 0)).toBe(0);
    expect(counter).toBe(WORKERS * iterations);
    const sum = summarizeLockStats(stats, results.map((r) => statsBaseOf(r.ownerId)));
    expect(sum.acquisitions).toBe(WORKERS * iterations);
    expect(sum.contended).toBeGreaterThan(0);
    expect(sum.latencySamples).toBe(sum.contended);
    expect(sum.latencyMaxNs).toBeGreaterThan(0);
  });

  it('makes progress with 16 workers on 2 cores (no lost wake-up, no livelock)', async () => {
    const workers = 16;
    const iterations = 150;
    const { results, counter } = await hammerRun(kind, workers, iterations, { csWrites: 16, outsideWork: 0, useTryLock: false });
    expect(results.reduce((a, r) => a + r.violations, 0)).toBe(0);
    expect(counter).toBe(workers * iterations);
  });

  it('tryLock fails while another holds it, succeeds when free; holder() is right', () => {
    const i32 = blockWith(4);
    const a = lockFor(kind, i32, 1);
    const b = lockFor(kind, i32, 2);
    expect(a.holder()).toBe(0);
    expect(a.tryLock()).toBe(true);
    expect(a.holder()).toBe(1);
    expect(b.holder()).toBe(1);
    expect(holderOf(kind, i32, LOCK_WORD)).toBe(1);
    expect(b.tryLock()).toBe(false);
    expect(a.holder()).toBe(1);
    a.unlock();
    expect(b.holder()).toBe(0);
    expect(b.tryLock()).toBe(true);
    expect(a.holder()).toBe(2);
    expect(a.tryLock()).toBe(false);
    b.unlock();
    a.lock();
    expect(holderOf(kind, i32, LOCK_WORD)).toBe(1);
    a.unlock();
    expect(holderOf(kind, i32, LOCK_WORD)).toBe(0);
  });

  it('counts uncontended acquisitions in the sink, and works without a sink', () => {
    const i32 = blockWith(4);
    const stats = new Float64Array(LOCK_STAT_SLOTS);
    const a = lockFor(kind, i32, 3, stats);
    for (let k = 0; k < 10; k++) {
      a.lock();
      a.unlock();
    }
    expect(a.tryLock()).toBe(true);
    a.unlock();
    expect(stats[LockStat.acquisitions]).toBe(11);
    expect(stats[LockStat.contended]).toBe(0);
    const bare = lockFor(kind, i32, 4);
    bare.lock();
    expect(bare.holder()).toBe(4);
    bare.unlock();
    expect(bare.holder()).toBe(0);
  });

  it('forceUnlock recovers a lock whose holder died, waking blocked waiters', async () => {
    const workers = 3;
    const sab = new SharedArrayBuffer(hammerWords(workers + 1) * 4);
    const statsSab = new SharedArrayBuffer((workers + 1) * LOCK_STAT_SLOTS * 8);
    const i32 = new Int32Array(sab);
    initLockBlock(i32, LOCK_WORD);
    const dead = workers + 1; // an owner id that takes the lock and never releases it
    const ghost = lockFor(kind, i32, dead);
    ghost.lock();
    expect(holderOf(kind, i32, LOCK_WORD)).toBe(dead);
    const runs: Promise<HammerResult>[] = [];
    for (let id = 1; id <= workers; id++) {
      runs.push(spawn({ sab, statsSab, kind, ownerId: id, iterations: 50, csWrites: 1, outsideWork: 0, useTryLock: false }));
    }
    while (Atomics.load(i32, CTRL.ready) < workers) await new Promise((r) => setTimeout(r, 2));
    Atomics.store(i32, CTRL.go, 1);
    Atomics.notify(i32, CTRL.go);
    // Let the workers block on the ghost's lock; nothing below depends on how long.
    await new Promise((r) => setTimeout(r, 30));
    expect(Atomics.load(i32, CTRL.counter)).toBe(0);
    forceUnlock(kind, i32, LOCK_WORD, nodeWordOf);
    const results = await Promise.all(runs);
    expect(results.reduce((a, r) => a + r.acquisitions, 0)).toBe(workers * 50);
    expect(results.reduce((a, r) => a + r.violations, 0)).toBe(0);
    expect(Atomics.load(i32, CTRL.counter)).toBe(workers * 50);
    expect(holderOf(kind, i32, LOCK_WORD)).toBe(0);
  });
});

/** Random kill moments per kind in the 'anywhere' death test: 3 by default, more for a soak. */
const ANYWHERE_RUNS = Number(process.env.LOCK_DEATH_RUNS ?? 3);

describe.each(KINDS)('%s lock with dead threads and nesting', (kind) => {
  it('a holder killed while others queue: recoverLock releases it on its behalf', async () => {
    const r = await deadThreadRun(kind, 'holder');
    expect(r.role).toBe('held');
    expect(r.results.reduce((a, x) => a + x.violations, 0)).toBe(0);
    expect(r.results.map((x) => x.acquisitions)).toEqual(DEATH_RUN_ITERATIONS);
    expect(r.counter).toBe(700);
    expect(r.holderAfter).toBe(0);
  });

  it('a waiter killed in the queue wedges nothing: recoverLock passes its turn on', async () => {
    const r = await deadThreadRun(kind, 'queued');
    expect(r.role).toBe(RECORDS_WAIT.includes(kind) ? 'waited' : 'none');
    expect(r.results.reduce((a, x) => a + x.violations, 0)).toBe(0);
    expect(r.results.map((x) => x.acquisitions)).toEqual(DEATH_RUN_ITERATIONS);
    expect(r.counter).toBe(700); // the victim never got in
    expect(r.holderAfter).toBe(0);
  });

  it('a waiter killed as the lock is released to it takes no wake-up or turn with it', async () => {
    // Delays spread over the window in which the victim is woken or granted (0.1-1.5 ms).
    for (const delayMs of [0, 0.5, 1.5]) {
      const r = await deadThreadRun(kind, 'handoff', delayMs);
      expect(r.results.reduce((a, x) => a + x.violations, 0), `delay ${delayMs} ms`).toBe(0);
      expect(r.results.map((x) => x.acquisitions)).toEqual(DEATH_RUN_ITERATIONS);
      expect(r.counter).toBeGreaterThanOrEqual(700);
      expect(r.holderAfter).toBe(0);
    }
  }, 600_000); // several worker runs: generous on a loaded machine

  it('a thread killed at any moment of lock or unlock (fast or slow path) wedges nothing', async () => {
    // terminate() lands at function entries, loop back-edges and Atomics calls: random
    // moments cover each step of both paths over the runs (a ticket taken
    // by a fetch-and-add and not yet recorded was lost with its thread).
    // ANYWHERE_RUNS moments per kind (LOCK_DEATH_RUNS=n for a soak; see docs/hacking.md).
    let seed = 0x5eed;
    for (let run = 0; run < ANYWHERE_RUNS; run++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const delayMs = (seed % 3000) / 1000;
      const r = await deadThreadRun(kind, 'anywhere', delayMs);
      expect(r.results.reduce((a, x) => a + x.violations, 0), `run ${run}`).toBe(0);
      expect(r.results.map((x) => x.acquisitions)).toEqual(DEATH_RUN_ITERATIONS);
      expect(r.holderAfter).toBe(0);
    }
  }, 900_000); // several worker runs: generous on a loaded machine

  it('one thread may hold several locks of the kind at once while others queue on them', async () => {
    const workers = 4;
    const nested = 3;
    const rounds = 400;
    const sab = new SharedArrayBuffer(hammerWords(workers) * 4);
    const statsSab = new SharedArrayBuffer(workers * LOCK_STAT_SLOTS * 8);
    const i32 = new Int32Array(sab);
    const runs = Array.from({ length: workers }, (_, j) =>
      lockThreads.run({ sab, statsSab, kind, ownerId: j + 1, iterations: rounds, csWrites: 0, outsideWork: 32, useTryLock: false, nested }),
    );
    await until(() => Atomics.load(i32, CTRL.ready) === workers, 'the workers to reach the barrier');
    Atomics.store(i32, CTRL.go, 1);
    Atomics.notify(i32, CTRL.go);
    const results = await boundedWait(Promise.all(runs.map((r) => r.done)), 90_000, `${kind} nested`, runs);
    expect(results.reduce((a, r) => a + r.violations, 0)).toBe(0);
    // Even rounds take every lock, odd round r takes lock (r >> 1) % nested.
    const expected = new Array<number>(nested).fill(workers * (rounds / 2));
    for (let r = 1; r < rounds; r += 2) expected[(r >> 1) % nested] += workers;
    expect(Array.from({ length: nested }, (_, k) => i32[nestedCounterWord(k)])).toEqual(expected);
  });
});

/**
 * Made deterministic: a futex/adaptive waiter that is woken by an unlock's
 * notify and dies before re-taking the lock. The victim is a bare worker that leaves
 * exactly the footprint of the lock's own parked waiter (WAIT record; adaptive: registered
 * in PARKED with REG; the "sleepers" bit set) and sleeps on the lock word; Atomics.wait
 * wakes waiters first-in first-out, so the holder's notify goes to it. It then spins (a
 * thread descheduled before it could retake the lock) until terminated.
 */
const PARKED_VICTIM = `
  const { workerData: d } = require('node:worker_threads');
  const i = new Int32Array(d.sab);
  i[d.node + d.WAIT] = d.word + 1;
  if (d.adaptive) { Atomics.add(i, d.word + 1, 1); i[d.node + d.REG] = 1; }
  let v;
  do { v = Atomics.load(i, d.word); } while ((v & 1) === 0 && Atomics.compareExchange(i, d.word, v, v | 1) !== v);
  v |= 1;
  Atomics.store(i, d.ready, 1);
  const r = Atomics.wait(i, d.word, v);
  Atomics.store(i, d.ready, r === 'ok' ? 2 : 3);
  for (;;);
`;

describe.each(['futex', 'adaptive'] as const)('%s lock: a waiter woken for the lock dies before taking it', (kind) => {
  it('recoverLock passes the wake-up on; the other sleepers get the lock', async () => {
    const sab = new SharedArrayBuffer(hammerWords(4) * 4);
    const statsSab = new SharedArrayBuffer(4 * LOCK_STAT_SLOTS * 8);
    const i32 = new Int32Array(sab);
    const ready = CTRL.held; // a free control word
    const main = lockFor(kind, i32, 4);
    main.lock();
    Atomics.store(i32, CTRL.go, 1);
    const victim = new Worker(PARKED_VICTIM, {
      eval: true,
      workerData: { sab, word: LOCK_WORD, node: nodeWordOf(1), WAIT: LockNode.WAIT, REG: LockNode.REG, ready, adaptive: kind === 'adaptive' },
    });
    const exited = new Promise((r) => victim.once('exit', r));
    await until(() => Atomics.load(i32, ready) === 1, 'the victim to park');
    await new Promise((r) => setTimeout(r, 50)); // into Atomics.wait before the others
    const survivors = [2, 3].map((id) =>
      lockThreads.run({ sab, statsSab, kind, ownerId: id, iterations: 200, csWrites: 2, outsideWork: 4, useTryLock: false }),
    );
    const all = [victim, ...survivors];
    await until(() => [2, 3].every((id) => Atomics.load(i32, nodeWordOf(id) + LockNode.WAIT) === LOCK_WORD + 1), 'the survivors to wait');
    await new Promise((r) => setTimeout(r, 50)); // and to park behind it
    main.unlock(); // notifies one sleeper: the victim, first in line
    await until(() => Atomics.load(i32, ready) !== 1, 'the victim to be woken');
    expect(Atomics.load(i32, ready), 'woken by the notify').toBe(2);
    await victim.terminate();
    await exited;
    const role = recoverLock(kind, { i32, word: LOCK_WORD, nodeWord: nodeWordOf, dead: 1, undo: () => {} });
    expect(role).toBe('waited');
    const results = await boundedWait(Promise.all(survivors.map((s) => s.done)), 60_000, `${kind}: sleepers after the dead waiter`, all);
    expect(results.map((r) => r.acquisitions)).toEqual([200, 200]);
    expect(results.reduce((a, r) => a + r.violations, 0)).toBe(0);
    expect(holderOf(kind, i32, LOCK_WORD)).toBe(0);
    if (kind === 'adaptive') expect(Atomics.load(i32, LOCK_WORD + 1), 'registered sleepers').toBe(0);
  });
});

describe.each(['futex', 'adaptive'] as const)('%s lock: a holder dies between its release and its notify', (kind) => {
  it('recoverLock sends the wake-up it owed', async () => {
    // The main thread (owner 4) plays the releaser killed at its notify call: it releases
    // the word exactly as unlock does (with the "owes a wake-up" record unlock writes in
    // the same step) and never notifies. Sleepers are parked with the sleepers bit set.
    const sab = new SharedArrayBuffer(hammerWords(4) * 4);
    const statsSab = new SharedArrayBuffer(4 * LOCK_STAT_SLOTS * 8);
    const i32 = new Int32Array(sab);
    const main = lockFor(kind, i32, 4);
    main.lock();
    Atomics.store(i32, CTRL.go, 1);
    const survivors = [1, 2].map((id) =>
      lockThreads.run({ sab, statsSab, kind, ownerId: id, iterations: 200, csWrites: 2, outsideWork: 4, useTryLock: false }),
    );
    await until(() => [1, 2].every((id) => Atomics.load(i32, nodeWordOf(id) + LockNode.WAIT) === LOCK_WORD + 1), 'the sleepers to wait');
    await until(() => (Atomics.load(i32, LOCK_WORD) & 1) === 1, 'the sleepers bit');
    await new Promise((r) => setTimeout(r, 100)); // into Atomics.wait
    i32[nodeWordOf(4) + LockNode.WAIT] = -(LOCK_WORD + 1);
    Atomics.store(i32, LOCK_WORD, 0); // released; the notify never happens
    const role = recoverLock(kind, { i32, word: LOCK_WORD, nodeWord: nodeWordOf, dead: 4, undo: () => {} });
    expect(role).toBe('none');
    const results = await boundedWait(Promise.all(survivors.map((x) => x.done)), 60_000, `${kind}: sleepers`, survivors);
    expect(results.map((r) => r.acquisitions)).toEqual([200, 200]);
    expect(results.reduce((a, r) => a + r.violations, 0)).toBe(0);
  });
});

describe('adaptive lock fairness', () => {
  it('hands the lock directly to a parked waiter and counts the hand-off', async () => {
    const sab = new SharedArrayBuffer(hammerWords(2) * 4);
    const statsSab = new SharedArrayBuffer(2 * LOCK_STAT_SLOTS * 8);
    const i32 = new Int32Array(sab);
    initLockBlock(i32, LOCK_WORD);
    const stats = new Float64Array(LOCK_STAT_SLOTS);
    const main = lockFor('adaptive', i32, 2, stats);
    main.lock();
    const waiter = spawn({ sab, statsSab, kind: 'adaptive', ownerId: 1, iterations: 1, csWrites: 1, outsideWork: 0, useTryLock: false });
    while (Atomics.load(i32, CTRL.ready) < 1) await new Promise((r) => setTimeout(r, 2));
    Atomics.store(i32, CTRL.go, 1);
    Atomics.notify(i32, CTRL.go);
    // Word 1 of the adaptive block counts registered sleepers: wait until the worker is one.
    while (Atomics.load(i32, LOCK_WORD + 1) === 0) await new Promise((r) => setTimeout(r, 2));
    main.unlock(); // no hand-off has happened on this lock yet, so this one is due
    expect(stats[LockStat.handoffs]).toBe(1);
    const r = await waiter;
    expect(r.acquisitions).toBe(1);
    expect(r.violations).toBe(0);
    expect(Atomics.load(i32, CTRL.counter)).toBe(1);
    expect(main.holder()).toBe(0);
    expect(main.tryLock()).toBe(true);
    main.unlock();
  });
});

describe('pooled lock threads', () => {
  it('serve runs one after another on the same thread; a thread terminated or taken to be killed leaves the pool', async () => {
    const threads = new LockThreads();
    try {
      const task = (ownerId: number, iterations: number): HammerTask => {
        const i32 = blockWith(2);
        Atomics.store(i32, CTRL.go, 1);
        return { sab: i32.buffer as SharedArrayBuffer, statsSab: new SharedArrayBuffer(2 * LOCK_STAT_SLOTS * 8), kind: 'ticket', ownerId, iterations, csWrites: 1, outsideWork: 0, useTryLock: false };
      };
      const a = threads.run(task(1, 50));
      expect((await a.done).acquisitions).toBe(50);
      const b = threads.run(task(2, 70));
      expect(b.worker).toBe(a.worker);
      expect((await b.done).acquisitions).toBe(70);
      await b.terminate(); // its run returned: the thread stays
      const endless = threads.run(task(1, 0)); // until STOP, which never comes
      expect(endless.worker).toBe(a.worker);
      await endless.terminate();
      await expect(endless.done).rejects.toThrow(/exited/);
      const c = threads.run(task(1, 30));
      expect(c.worker).not.toBe(a.worker);
      expect((await c.done).acquisitions).toBe(30);
      await c.worker.terminate(); // an idle thread killed from outside leaves the pool too
      const d = threads.run(task(2, 40));
      expect(d.worker).not.toBe(c.worker);
      expect((await d.done).acquisitions).toBe(40);
      const victim = threads.runToKill(task(1, 0)); // an idle thread, out of the pool for good
      expect(victim.worker).toBe(d.worker);
      await victim.terminate();
      const e = threads.run(task(2, 20));
      expect(e.worker).not.toBe(d.worker);
      expect((await e.done).acquisitions).toBe(20);
      expect(threads.started).toBe(4);
    } finally {
      await threads.close();
    }
  });
});

describe('lock block and statistics helpers', () => {
  it('initLockBlock zeroes exactly LOCK_WORDS words', () => {
    const i32 = new Int32Array(LOCK_WORDS + 2).fill(7);
    initLockBlock(i32, 1);
    expect(i32[0]).toBe(7);
    expect(Array.from(i32.subarray(1, 1 + LOCK_WORDS))).toEqual(new Array(LOCK_WORDS).fill(0));
    expect(i32[LOCK_WORDS + 1]).toBe(7);
  });

  it('latency buckets are log2 of nanoseconds', () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(0.5)).toBe(0);
    expect(latencyBucket(1)).toBe(0);
    expect(latencyBucket(2)).toBe(1);
    expect(latencyBucket(1023)).toBe(9);
    expect(latencyBucket(1024)).toBe(10);
    expect(latencyBucket(1e12)).toBe(LOCK_LATENCY_BUCKETS - 1);
  });

  it('summarizeLockStats sums sinks and takes p50/p99 from the merged histogram', () => {
    const f64 = new Float64Array(3 * LOCK_STAT_SLOTS);
    const bases = [0, 2 * LOCK_STAT_SLOTS]; // the middle sink is not summed
    const h = LockStat.latencyHistogram;
    f64[0 + LockStat.acquisitions] = 10;
    f64[0 + LockStat.contended] = 60;
    f64[0 + LockStat.latencySamples] = 60;
    f64[0 + h + 4] = 60; // 60 samples in [16, 32) ns
    f64[0 + LockStat.latencyMaxNs] = 31;
    f64[LOCK_STAT_SLOTS + LockStat.acquisitions] = 1000;
    const b = 2 * LOCK_STAT_SLOTS;
    f64[b + LockStat.acquisitions] = 5;
    f64[b + LockStat.parks] = 3;
    f64[b + LockStat.handoffs] = 2;
    f64[b + LockStat.latencySamples] = 40;
    f64[b + h + 10] = 39; // [1024, 2048) ns
    f64[b + h + 20] = 1; // [~1 ms, ~2 ms)
    f64[b + LockStat.latencyMaxNs] = 1.5e6;
    const s = summarizeLockStats(f64, bases);
    expect(s.acquisitions).toBe(15);
    expect(s.contended).toBe(60);
    expect(s.parks).toBe(3);
    expect(s.handoffs).toBe(2);
    expect(s.latencySamples).toBe(100);
    expect(s.latencyP50Ns).toBe(16);
    expect(s.latencyP99Ns).toBe(1024);
    expect(s.latencyMaxNs).toBe(1.5e6);
    expect(summarizeLockStats(f64, []).latencyP99Ns).toBe(0);
  });

  it('queue nodes do not overlap the lock block or each other', () => {
    expect(nodeWordOf(1) - nodeWordOf(0)).toBe(LOCK_NODE_WORDS);
    expect(nodeWordOf(0)).toBeGreaterThanOrEqual(LOCK_WORD + LOCK_WORDS);
  });
});
