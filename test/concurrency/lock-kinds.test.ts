/**
 * Every built-in lock kind and every waiting policy (see coverCases): mutual exclusion with a
 * verified multi-word critical section across real workers (a barrier, then all hammer),
 * tryLock mixed in; FIFO order for the kinds that promise it; the negative control caught
 * by the same checker. Workers run dist/test/fixtures/lock-policy-worker.js (build first).
 * Small counts: FIFO kinds under pure spinning crawl when workers outnumber free cores.
 * No assertion depends on timing.
 */
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { ALL_LOCK_KINDS, LOCK_POLICIES, LockNode, createLock, holderOf, type LockKind, type WaitPolicy } from '../../src/locks/index.js';
import { CTRL, DATA, DATA_WORDS, lockWords, nodeWordOf, type PolicyResult, type PolicyTask } from '../fixtures/lock-policy-worker.js';
import { fixtureUrl } from '../helpers/fixtures.js';

const WORKER_URL = fixtureUrl('lock-policy-worker');
const FIFO_KINDS: readonly LockKind[] = ['ticket', 'ticket-backoff', 'twa', 'partitioned-ticket', 'mcs', 'clh', 'hemlock', 'anderson'];
const REAL = ALL_LOCK_KINDS.filter((k) => k !== 'busted');
/**
 * Every kind and every waiting policy, not every product: each kind once, under the first of
 * its policies no earlier case has used (its default once all are used), then any policy
 * still uncovered on the first kind that accepts it. The policies' waiting code is shared by
 * the kinds (src/locks/common.ts), so one kind per policy exercises it; LOCK_KINDS_ALL=1 runs
 * the whole product (a soak).
 */
function coverCases(): { kind: LockKind; policy: WaitPolicy }[] {
  if (process.env.LOCK_KINDS_ALL === '1') {
    return REAL.flatMap((kind) => LOCK_POLICIES[kind].policies.map((policy) => ({ kind, policy })));
  }
  const used = new Set<WaitPolicy>();
  const cases = REAL.map((kind) => {
    const { policies, default: dflt } = LOCK_POLICIES[kind];
    const policy = policies.find((q) => !used.has(q)) ?? dflt;
    used.add(policy);
    return { kind, policy };
  });
  const every = new Set(REAL.flatMap((kind) => LOCK_POLICIES[kind].policies));
  for (const policy of every) {
    if (used.has(policy)) continue;
    cases.push({ kind: REAL.find((k) => LOCK_POLICIES[k].policies.includes(policy))!, policy });
    used.add(policy);
  }
  return cases;
}
const CASES = coverCases();

/**
 * Three workers serving tasks by message, shared by every case: starting a worker costs
 * more than a case's work. A case that fails replaces them (terminate, start afresh on the
 * next task), so a worker stuck in a broken lock cannot wedge the cases after it.
 */
class Crew {
  private workers: Worker[] = [];

  run(i: number, task: PolicyTask): Promise<PolicyResult> {
    while (this.workers.length <= i) this.workers.push(new Worker(WORKER_URL));
    const w = this.workers[i]!;
    const done = new Promise<PolicyResult>((resolve, reject) => {
      const off = (): void => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
      const onMessage = (r: PolicyResult): void => (off(), resolve(r));
      const onError = (e: Error): void => (off(), reject(e));
      const onExit = (code: number): void => (off(), reject(new Error(`lock worker ${task.ownerId} exited (${code}) without a result`)));
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      w.postMessage(task);
    });
    done.catch(() => {});
    return done;
  }

  async replace(): Promise<void> {
    const old = this.workers;
    this.workers = [];
    await Promise.all(old.map((w) => w.terminate()));
  }
}
const crew = new Crew();
afterAll(() => crew.replace());

/** Runs `body`; if it throws, the crew is replaced before the error goes on. */
async function replacingOnFailure<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    await crew.replace();
    throw e;
  }
}

function block(maxOwner: number): { sab: SharedArrayBuffer; i32: Int32Array } {
  const sab = new SharedArrayBuffer(lockWords(maxOwner) * 4);
  return { sab, i32: new Int32Array(sab, 0, lockWords(maxOwner)) };
}

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** `workers` threads released together by a barrier; each makes `iterations` acquisitions (0: until STOP). */
async function hammer(kind: LockKind, policy: WaitPolicy, workers: number, iterations: number, stopWhen?: (i32: Int32Array) => boolean) {
  const { sab, i32 } = block(workers);
  return replacingOnFailure(async () => {
    const runs = Array.from({ length: workers }, (_, k) =>
      crew.run(k, { sab, kind, policy, ownerId: k + 1, mode: 'hammer', iterations, useTryLock: true, outside: 16 }),
    );
    await until(() => Atomics.load(i32, CTRL.ready) === workers, 'workers at the barrier');
    Atomics.store(i32, CTRL.go, 1);
    Atomics.notify(i32, CTRL.go);
    if (stopWhen) {
      await until(() => stopWhen(i32), 'the stop condition', 20_000).catch(() => {});
      Atomics.store(i32, CTRL.stop, 1);
    }
    const results = await Promise.all(runs);
    return { results, i32 };
  });
}

describe.each(CASES)('$kind lock, $policy', ({ kind, policy }) => {
  it('keeps 3 workers out of each other\'s critical section (verified words), tryLock mixed in', async () => {
    const iterations = policy === 'spin' ? 60 : 250;
    const { results, i32 } = await hammer(kind, policy, 3, iterations);
    const total = results.reduce((a, r) => a + r.acquisitions, 0);
    expect(total).toBe(3 * iterations);
    expect(results.map((r) => r.violations)).toEqual([0, 0, 0]);
    expect(i32[CTRL.order]).toBe(total);
    for (let k = 0; k < DATA_WORDS; k++) expect(i32[DATA + k]).toBe(total);
    expect(holderOf(kind, i32, 0)).toBe(0);
  });
});

describe.each(REAL)('%s lock on one thread', (kind) => {
  it('tryLock fails while another holds it and succeeds once free; holder() is right', () => {
    const { i32 } = block(4);
    const mk = (id: number) => createLock(kind, { i32, word: 0, ownerId: id, nodeWord: nodeWordOf });
    const a = mk(1);
    const b = mk(2);
    expect(a.policy).toBe(LOCK_POLICIES[kind].default);
    expect(a.holder()).toBe(0);
    expect(a.tryLock()).toBe(true);
    expect(b.holder()).toBe(1);
    expect(b.tryLock()).toBe(false);
    a.unlock();
    expect(b.tryLock()).toBe(true);
    expect(holderOf(kind, i32, 0)).toBe(2);
    expect(a.tryLock()).toBe(false);
    b.unlock();
    for (let k = 0; k < 5; k++) {
      a.lock();
      expect(a.holder()).toBe(1);
      a.unlock();
      b.lock();
      expect(holderOf(kind, i32, 0)).toBe(2);
      b.unlock();
    }
    expect(a.holder()).toBe(0);
  });
});

const FIFO_CASES = [
  ...FIFO_KINDS.map((kind) => ({ kind, policy: 'spin-then-park' as WaitPolicy })),
  ...(['ticket', 'mcs', 'twa'] as const).map((kind) => ({ kind, policy: 'park' as WaitPolicy })),
];

describe.each(FIFO_CASES)(
  '$kind lock, $policy: FIFO',
  ({ kind, policy }) => {
    it('grants the lock in arrival order (3 waiters queued one by one behind a holder)', async () => {
      const waiters = 3;
      const { sab, i32 } = block(waiters + 1);
      const main = createLock(kind, { i32, word: 0, ownerId: waiters + 1, nodeWord: nodeWordOf, policy });
      Atomics.store(i32, CTRL.go, 1);
      main.lock();
      await replacingOnFailure(async () => {
        const runs: Promise<PolicyResult>[] = [];
        for (let id = 1; id <= waiters; id++) {
          runs.push(crew.run(id - 1, { sab, kind, policy, ownerId: id, mode: 'once', iterations: 1 }));
          // Queued: its node records the lock it waits for (word 0 + 1).
          await until(() => Atomics.load(i32, nodeWordOf(id) + LockNode.WAIT) === 1, `waiter ${id} to queue`);
        }
        main.unlock();
        const results = await Promise.all(runs);
        expect(results.map((r) => r.order)).toEqual([0, 1, 2]);
        expect(results.every((r) => r.violations === 0)).toBe(true);
      });
    });
  },
);

describe('busted, the negative control', () => {
  it('fails the mutual-exclusion check that every other kind passes', async () => {
    const { results, i32 } = await hammer('busted', 'spin', 3, 0, (a) => Atomics.load(a, CTRL.violations) > 0);
    expect(results.reduce((a, r) => a + r.violations, 0)).toBeGreaterThan(0);
    expect(Atomics.load(i32, CTRL.violations)).toBeGreaterThan(0);
  });

  it('accepts only the spin policy and never waits', () => {
    const { i32 } = block(2);
    expect(() => createLock('busted', { i32, word: 0, ownerId: 1, policy: 'park' })).toThrow(/not supported/);
    const a = createLock('busted', { i32, word: 0, ownerId: 1 });
    const b = createLock('busted', { i32, word: 0, ownerId: 2 });
    a.lock();
    expect(b.tryLock()).toBe(true); // no exclusion
  });
});
