/**
 * Recovery from a thread that died holding heap state (a killed worker).
 *
 * Owns nothing; it runs on a live, attached thread (the one whose handle recover() was
 * called on) once the dead worker has exited. For each slot the dead thread had:
 *
 * 1. Locks. Every lock word records its holder's owner id (slot + 1). If the dead thread
 *    holds one, its undo log (txn.ts) is rolled back, which restores the structure as it
 *    was when the lock was taken, and the lock is forced free (waiters wake and re-contend).
 *    Nobody else touched the structure meanwhile: the dead thread still "held" the lock.
 * 2. Spans in flight, recorded in its slot inside the transactions that moved them: a span
 *    taken from the PageHeap but not yet linked into a class or handed out
 *    (S.TRANSIT_SPAN), a large block whose free did not finish (S.TRANSIT_FREE), spans
 *    emptied by a central operation on their way back (S.PENDING). Each goes back to the
 *    PageHeap (a large block already handed to the application stays allocated).
 * 3. Its ThreadCache lists are walked (a head marked ALLOCATED is an interrupted pop or
 *    push: it becomes FREE) and returned to the central caches.
 * 4. The slot is freed. Blocks the thread allocated and did not free stay allocated; the
 *    slot's counters tell how many it allocated net of its own frees.
 *
 * Before any of this, every slot of the thread is probed (liveness.ts): if its thread still
 * runs, or cannot be shown to have exited, recovery refuses with LiveThreadError and has
 * changed nothing (recovering a live thread would hand its slot, cache and undo log to the
 * next thread that attaches while it still uses them).
 *
 * Steps 2 and 3 take tier locks (returnSpansInFlight the PageHeap lock; returning the
 * cache each class's central lock and the PageHeap lock, where emptied spans go). When
 * several threads died, another dead thread may hold or wait for one of them, and nobody
 * would ever release it: this thread would spin on it forever. So between steps 1 and 2,
 * every other slot that holds, waits for or is inside a lock and whose thread the probe
 * shows dead gets step 1 too (its locks rolled back and released, its turns passed on),
 * and nothing else: its own recover() does the rest and reports it (step 1 finds nothing
 * left to do then: recoverLock clears what it settles). The slot is DEAD while its locks
 * are released, so two recoverers never release the same thread's locks at once; a
 * recover() of that thread meanwhile waits for it to end.
 *
 * A thread that answered that probe may die afterwards still holding (or queued for) a
 * lock: killed while this recovery waits, or already being torn down when probed (its
 * isolate answers until the teardown is over). So before each operation of steps 2 and 3
 * the lock it takes is made sure obtainable (TierLockWaits): tryLock, released at once.
 * While it cannot be taken, this thread sleeps 1 ms between tries and, after 20 ms, 200 ms,
 * 2 s and then every 10 s of waiting, probes again the threads that hold or wait for that
 * lock (or have a section open) and releases the locks of those now dead. The spacing is
 * the probe's: a live holder keeps a tier lock for microseconds, a dying one is gone within
 * milliseconds to a second, and each probe of a thread whose event loop does not turn uses
 * up one of its 4 waiters (liveness.ts). Once the lock could be taken, the operation's own
 * lock() has only threads ahead of it that were alive and took it afterwards.
 *
 * In globalLock mode the tiers' locks are NoLocks and live threads change every tier under
 * the global lock, so steps 2 and 3 of each slot run inside one section of the global lock,
 * made obtainable the same way first.
 *
 * What stays impossible: a thread whose 4 waiters were all taken by probes while it was
 * busy (its event loop stopped), and which then died, answers 'unknown' for good. Its lock
 * is then released only by its own recovery, which needs the exit as proof
 * (recoverWhenExited, run on another thread than this blocked one); until then this
 * recovery keeps waiting and re-probing every 10 s. Likewise a thread that takes the lock
 * after it was found obtainable and dies inside it blocks the operation's lock(), as it
 * blocks any live thread, until that thread's own recovery runs elsewhere.
 *
 * Takes the heap as a RecoverableHeap (the parts it works on), so it does not import
 * sharedheap.ts (which calls it).
 */

import type { Worker } from 'node:worker_threads';
import { holderOf, LockNode, recoverLock, tierLockFromCode, type Lock, type LockKind } from '../locks/index.js';
import type { CentralCache } from './centralcache.js';
import { HeapCorruptionError, LiveThreadError } from './errors.js';
import { centralWordOf, claimingState, H, lockNodeWordOf, PENDING_SPANS, S, Shadow, SlotState, SP, SpanState, slotF64Of, slotWordOf, type HeapLayout } from './layout.js';
import { probeSlot } from './liveness.js';
import type { HeapMemory } from './memory.js';
import type { PageHeap } from './pageheap.js';
import { decodeLink, encodeLink } from './safelink.js';
import type { SizeClassTable } from './sizeclasses.js';
import { NO_SPAN, type SpanTable } from './span.js';
import { settleClaim } from './cachelists.js';
import { undoLog, type Txn } from './txn.js';

/** The parts of a live, attached handle that recovery works through. */
export interface RecoverableHeap {
  readonly mem: HeapMemory;
  readonly layout: HeapLayout;
  readonly sizeClasses: SizeClassTable;
  readonly spans: SpanTable;
  readonly pageHeap: PageHeap;
  readonly central: CentralCache;
  /** The recovering thread's own slot (never recovered). */
  readonly threadSlot: number;
  readonly modes: { globalLock: boolean };
  /** The recovering thread's undo log, and its handle on the global lock (globalLock mode). */
  readonly txn: Txn;
  readonly globalLock: Lock;
}


export interface RecoveryReport {
  threadId: number;
  /** Slots the dead thread had attached (usually one per heap). */
  slots: number[];
  /** Locks it held, rolled back and released ('pageHeap', 'global', 'central[c]'). */
  locksReleased: string[];
  /**
   * Ids of other dead, unrecovered threads that held or waited for a lock this recovery
   * needed: their locks were released first (their own recover() returns the rest).
   */
  otherDeadThreadsUnlocked: number[];
  /** Undo-log entries rolled back. */
  writesUndone: number;
  /** Objects of its thread cache returned to the central caches. */
  cachedObjectsReturned: number;
  /** Spans it had in flight, returned to the PageHeap. */
  spansReturned: number;
  /**
   * Per slot: blocks it allocated minus blocks it freed (exact for small blocks: derived
   * from the objects its cache took from the central cache and gave back, threadcache.ts).
   */
  netAllocationsBySlot: Record<number, number>;
}

interface LockSite {
  name: string;
  kind: LockKind;
  word: number;
}

function lockSites(heap: RecoverableHeap): LockSite[] {
  const i32 = heap.mem.i32;
  const L = heap.layout;
  if (heap.modes.globalLock) return [{ name: 'global', kind: 'futex', word: L.globalLock >>> 2 }];
  const central = tierLockFromCode(i32[H.CENTRAL_LOCK_KIND]!)!.kind;
  const sites: LockSite[] = [{ name: 'pageHeap', kind: tierLockFromCode(i32[H.PAGEHEAP_LOCK_KIND]!)!.kind, word: L.pageHeap >>> 2 }];
  for (let c = 1; c < heap.sizeClasses.count; c++) {
    sites.push({ name: `central[${c}]`, kind: central, word: centralWordOf(L, c) });
  }
  return sites;
}

/**
 * exited: the caller knows the thread has exited (Node's 'exit' event of its Worker), so a
 * probe that cannot answer (every waiter taken by earlier probes before it died) does not
 * block recovery; a probe that finds it alive still does.
 */
export function recoverThread(heap: RecoverableHeap, deadThreadId: number, exited = false): RecoveryReport {
  const { mem, layout } = heap;
  const report = emptyReport(deadThreadId);
  refuseIfAlive(heap, deadThreadId, exited);
  const sites = lockSites(heap);
  const i32 = mem.i32;
  const claimed: number[] = [];
  for (let slot = 0; slot < layout.maxThreads; slot++) {
    const w = slotWordOf(layout, slot);
    if (Atomics.load(i32, w + S.STATE) === claimingState(deadThreadId)) {
      // Killed while claiming the slot: nothing of the heap is in its hands yet.
      if (Atomics.compareExchange(i32, w + S.STATE, claimingState(deadThreadId), SlotState.FREE) === claimingState(deadThreadId)) {
        report.slots.push(slot);
      }
      continue;
    }
    if (slot === heap.threadSlot) continue;
    const state = stateAfterOtherRecoverer(i32, w, deadThreadId);
    if ((state !== SlotState.ATTACHED && state !== SlotState.DETACHING) || i32[w + S.THREAD_ID] !== deadThreadId) continue;
    if (Atomics.compareExchange(i32, w + S.STATE, state, SlotState.DEAD) !== state) continue;
    report.slots.push(slot);
    claimed.push(slot);
    releaseLocks(heap, slot, w, sites, report);
  }
  if (claimed.length > 0) unlockOtherDeadThreads(heap, sites, report);
  const tierLocks = new TierLockWaits(heap, sites, report);
  for (const slot of claimed) {
    const w = slotWordOf(layout, slot);
    // globalLock mode: live threads change every tier under the global lock (the tiers' own
    // locks are NoLocks), so steps 2 and 3 run under it as well.
    const outer = tierLocks.global();
    if (outer !== undefined) heap.txn.enter(outer);
    try {
      returnSpansInFlight(heap, w, report, tierLocks);
      settleClaim(mem, w, w + layout.slot.heads); // a free killed between its claim and its push
      returnThreadCache(heap, slot, w, report, tierLocks);
    } finally {
      if (outer !== undefined) heap.txn.exit(outer);
    }
    // Every pop was a malloc and every push a free, so with its lists now empty the slot's
    // small mallocs minus small frees are its TAKEN count (exact, unlike the frees, whose
    // last owner-local count died with the thread).
    const f = slotF64Of(layout, slot);
    report.netAllocationsBySlot[slot] =
      mem.f64[f + layout.slot.taken]! + mem.f64[f + layout.slot.largeMallocs]! - mem.f64[f + layout.slot.largeFrees]!;
    Atomics.add(mem.i32, H.TC_TOTAL_BYTES, -Atomics.exchange(mem.i32, w + S.CACHED_BYTES, 0));
    Atomics.store(mem.i32, w + S.STATE, SlotState.FREE); // H.ATTACHED: the caller recounts
  }
  return report;
}

/** recover()'s check of the id it was given (`self`: the calling thread's), before anything is probed. */
export function checkDeadThreadId(deadThreadId: number, self: number): void {
  if (deadThreadId === self) throw new RangeError('a thread cannot recover itself; detach() instead');
  if (!Number.isInteger(deadThreadId) || deadThreadId < 0) {
    throw new RangeError(
      `recover(${String(deadThreadId)}): not a thread id (worker.threadId reads -1 once the worker has exited: read it before, e.g. when the worker starts, or use recoverWhenExited(worker))`,
    );
  }
}

/**
 * recoverWhenExited(): `recover(tid)` once `worker` has exited, read while it runs (Node
 * forgets a worker's threadId when it exits).
 */
export function onceExited(worker: Worker, recover: (tid: number) => RecoveryReport): Promise<RecoveryReport> {
  const tid = worker.threadId;
  if (!Number.isInteger(tid) || tid < 0) {
    return Promise.reject(new LiveThreadError(tid, 'this Worker has already exited and Node no longer tells its threadId: call recoverWhenExited() while it runs'));
  }
  return new Promise((resolve, reject) => {
    worker.once('exit', () => {
      try {
        resolve(recover(tid));
      } catch (e) {
        reject(e);
      }
    });
  });
}

function emptyReport(threadId: number): RecoveryReport {
  return { threadId, slots: [], locksReleased: [], otherDeadThreadsUnlocked: [], writesUndone: 0, cachedObjectsReturned: 0, spansReturned: 0, netAllocationsBySlot: {} };
}

/**
 * The state of slot word w, once no other recoverer is releasing the locks of `tid` there
 * (unlockOtherDeadThreads keeps it DEAD for that long, microseconds). A DEAD slot that
 * stays DEAD (its recoverer died) is left as it is after a second.
 */
function stateAfterOtherRecoverer(i32: Int32Array, w: number, tid: number): number {
  let state = Atomics.load(i32, w + S.STATE);
  for (let k = 0; k < 1000 && state === SlotState.DEAD && i32[w + S.THREAD_ID] === tid; k++) {
    Atomics.wait(i32, w + S.STATE, SlotState.DEAD, 1);
    state = Atomics.load(i32, w + S.STATE);
  }
  return state;
}

/**
 * Step 1 for every other attached slot whose thread holds, waits for or is inside a lock
 * and is proven dead: steps 2 and 3 of this recovery take tier locks, and a lock of a dead
 * thread is released by nobody else. The rest of that thread stays for its own recover().
 */
function unlockOtherDeadThreads(heap: RecoverableHeap, sites: LockSite[], report: RecoveryReport, only?: LockSite): void {
  const { mem, layout } = heap;
  const i32 = mem.i32;
  for (let slot = 0; slot < layout.maxThreads; slot++) {
    if (slot === heap.threadSlot) continue;
    const w = slotWordOf(layout, slot);
    const state = Atomics.load(i32, w + S.STATE);
    if (state !== SlotState.ATTACHED && state !== SlotState.DETACHING) continue;
    if (!inLocks(heap, slot, w, sites, only) || probeSlot(i32, w) !== 'dead') continue;
    if (Atomics.compareExchange(i32, w + S.STATE, state, SlotState.DEAD) !== state) continue;
    try {
      releaseLocks(heap, slot, w, sites, emptyReport(i32[w + S.THREAD_ID]!)); // theirs: their own recover() reports them
      report.otherDeadThreadsUnlocked.push(i32[w + S.THREAD_ID]!);
    } finally {
      Atomics.store(i32, w + S.STATE, state);
      Atomics.notify(i32, w + S.STATE);
    }
  }
}

/**
 * True if the thread of `slot` holds or waits for a tier lock, or has a critical section
 * open. With `only`: holds or waits for that lock, or has a section open (a lock kind may
 * record its holder only after acquiring, so an open section may be inside that lock).
 */
function inLocks(heap: RecoverableHeap, slot: number, w: number, sites: LockSite[], only?: LockSite): boolean {
  const i32 = heap.mem.i32;
  if (i32[w + S.LOG_LEN]! > 0) return true;
  const node = lockNodeWordOf(heap.layout, slot + 1);
  if (Atomics.load(i32, node + LockNode.ACTIVE) !== 0) return true;
  const wait = Math.abs(Atomics.load(i32, node + LockNode.WAIT)); // futex: -(word + 1) while a notify is owed
  if (only !== undefined) return wait === only.word + 1 || holderOf(only.kind, i32, only.word) === slot + 1;
  if (wait !== 0) return true;
  for (const site of sites) if (holderOf(site.kind, i32, site.word) === slot + 1) return true;
  return false;
}

/**
 * Spacing of the re-probes while a tier lock cannot be taken, in ms since the wait began,
 * then every REPROBE_EVERY_MS. A live holder keeps a tier lock for microseconds and a
 * thread being torn down is gone within milliseconds to a second, while each probe of a
 * thread whose event loop does not turn uses up one of its PROBE_WAITERS waiters
 * (liveness.ts): with the first probe of unlockOtherDeadThreads, a busy blocker has had
 * all four by 2 s, by which time a dying one is long gone.
 */
const REPROBE_AT_MS = [20, 200, 2000] as const;
const REPROBE_EVERY_MS = 10_000;
/**
 * Sleep between two tries of a lock that cannot be taken, on a word of its own: sleeping on
 * the lock word could take a futex unlock's single wake-up away from a parked waiter.
 */
const TRY_EVERY_MS = 1;
const nap = new Int32Array(new SharedArrayBuffer(4), 0, 1);

/**
 * Steps 2 and 3: before a tier operation takes a lock with its plain blocking lock(),
 * waits until that lock can be taken (tryLock, released at once: nothing is touched), re-
 * probing at spaced intervals the threads that hold or wait for it and releasing the locks
 * of those found dead. Once it could be taken, only threads alive at that moment can be
 * ahead of the operation's lock(): a thread whose termination has begun takes no lock anew
 * (terminate() is delivered at the entry of every Atomics call, locks/lock.ts).
 */
class TierLockWaits {
  private readonly heap: RecoverableHeap;
  private readonly sites: LockSite[];
  private readonly report: RecoveryReport;
  /** globalLock mode: the tiers' locks are NoLocks (lockSites lists the global lock alone). */
  private readonly none: boolean;

  constructor(heap: RecoverableHeap, sites: LockSite[], report: RecoveryReport) {
    this.heap = heap;
    this.sites = sites;
    this.report = report;
    this.none = heap.modes.globalLock;
  }

  /**
   * globalLock mode: the global lock (lockSites' only site), once obtainable, for steps 2 and
   * 3 to run under; else undefined (each step makes its own tier lock obtainable).
   */
  global(): Lock | undefined {
    if (!this.none) return undefined;
    this.obtainable(this.heap.globalLock, this.sites[0]!);
    return this.heap.globalLock;
  }

  /** Before an operation that takes the PageHeap lock (lockSites puts it first). */
  pageHeap(): void {
    if (!this.none) this.obtainable(this.heap.pageHeap.lock, this.sites[0]!);
  }

  /** Before insertRange into class c: its central lock (site c), then the PageHeap lock (emptied spans go back there). */
  central(c: number): void {
    if (this.none) return;
    this.obtainable(this.heap.central.locks[c]!, this.sites[c]!);
    this.pageHeap();
  }

  private obtainable(lock: Lock, site: LockSite): void {
    if (lock.tryLock()) return lock.unlock();
    const start = performance.now();
    let probes = 0;
    let due: number = REPROBE_AT_MS[0];
    for (;;) {
      Atomics.wait(nap, 0, 0, TRY_EVERY_MS);
      if (lock.tryLock()) return lock.unlock();
      if (performance.now() - start < due) continue;
      unlockOtherDeadThreads(this.heap, this.sites, this.report, site);
      probes++;
      due = probes < REPROBE_AT_MS.length ? REPROBE_AT_MS[probes]! : due + REPROBE_EVERY_MS;
    }
  }
}

/** Probes every slot of the thread (attached or being claimed); throws if any answers. */
function refuseIfAlive(heap: RecoverableHeap, tid: number, exited: boolean): void {
  const { mem, layout } = heap;
  for (let slot = 0; slot < layout.maxThreads; slot++) {
    if (slot === heap.threadSlot) continue;
    const w = slotWordOf(layout, slot);
    const state = Atomics.load(mem.i32, w + S.STATE);
    const ours =
      state === claimingState(tid) ||
      ((state === SlotState.ATTACHED || state === SlotState.DETACHING) && mem.i32[w + S.THREAD_ID] === tid);
    if (!ours) continue;
    const answer = probeSlot(mem.i32, w);
    if (answer === 'alive') throw new LiveThreadError(tid, `it is still running (thread slot ${slot} answered the liveness probe); recover a thread only after it has exited`);
    if (answer === 'unknown' && !exited) throw new LiveThreadError(tid, `thread slot ${slot} has not answered earlier liveness probes yet (a busy live thread); try again later`);
  }
}

function releaseLocks(heap: RecoverableHeap, slot: number, w: number, sites: LockSite[], report: RecoveryReport): void {
  const ownerId = slot + 1;
  const { layout } = heap;
  const nodeWord = (id: number): number => lockNodeWordOf(layout, id);
  const undo = (): void => void (report.writesUndone += undoLog(heap.mem, w, layout.slot.log));
  for (const site of sites) {
    // Held: undo, then released; waited for: its ticket / queue place / wake-up passed on.
    const role = recoverLock(site.kind, { i32: heap.mem.i32, word: site.word, nodeWord, dead: ownerId, undo });
    if (role === 'held') report.locksReleased.push(site.name);
  }
  // A log left open without a recorded lock can only come from a lock kind that records
  // its holder after acquiring; nobody else can be inside that section either way.
  if (heap.mem.i32[w + S.LOG_LEN]! > 0) report.writesUndone += undoLog(heap.mem, w, heap.layout.slot.log);
}

function returnSpansInFlight(heap: RecoverableHeap, w: number, report: RecoveryReport, tierLocks: TierLockWaits): void {
  const { mem, spans, pageHeap, central } = heap;
  const i32 = mem.i32;
  const transit = i32[w + S.TRANSIT_SPAN]!;
  if (transit !== NO_SPAN) {
    const handedOut =
      spans.get(transit, SP.STATE) === SpanState.LARGE &&
      mem.shadow[(mem.pageAddress(transit) - mem.base) >>> 4] === Shadow.ALLOCATED;
    if (handedOut) {
      i32[w + S.TRANSIT_SPAN] = NO_SPAN;
    } else {
      pageHeap.clearShadow(transit, spans.get(transit, SP.PAGES));
      tierLocks.pageHeap();
      pageHeap.deallocateSpan(transit, w + S.TRANSIT_SPAN);
      report.spansReturned++;
    }
  }
  const freeing = i32[w + S.TRANSIT_FREE]!;
  if (freeing !== NO_SPAN) {
    if (spans.get(freeing, SP.STATE) === SpanState.LARGE) {
      mem.shadow[(mem.pageAddress(freeing) - mem.base) >>> 4] = Shadow.FREED;
      tierLocks.pageHeap();
      pageHeap.deallocateSpan(freeing, w + S.TRANSIT_FREE);
      report.spansReturned++;
    } else {
      i32[w + S.TRANSIT_FREE] = NO_SPAN; // the free had finished
    }
  }
  for (let k = 0; k < PENDING_SPANS; k++) {
    const s = i32[w + S.PENDING + k]!;
    if (s === NO_SPAN) continue;
    central.markObjectsFreed(s);
    tierLocks.pageHeap();
    pageHeap.deallocateSpan(s, w + S.PENDING + k);
    report.spansReturned++;
  }
}

function returnThreadCache(heap: RecoverableHeap, slot: number, w: number, report: RecoveryReport, tierLocks: TierLockWaits): void {
  const { mem, layout, central } = heap;
  const key = layout.key;
  for (let c = 1; c < heap.sizeClasses.count; c++) {
    const headWord = w + layout.slot.heads + c;
    let count = 0;
    let prev = 0;
    for (let p = mem.u32[headWord]!; p !== 0; ) {
      const rel = p - mem.base;
      const st = mem.shadow[rel >>> 4];
      const ok =
        (p & 15) === 0 &&
        p >= mem.base &&
        p < mem.limit &&
        mem.pageClass[rel >>> mem.pageShift] === c &&
        (st === Shadow.FREE || (count === 0 && st === Shadow.ALLOCATED));
      if (!ok) {
        // Only corruption by the application can get here: cut the list before the bad link.
        if (prev === 0) mem.u32[headWord] = 0;
        else mem.u32[prev >>> 2] = encodeLink(0, prev, key);
        throw new HeapCorruptionError(`dead thread slot ${slot}: class ${c} cache list holds bad pointer ${p}`, p);
      }
      if (st === Shadow.ALLOCATED) mem.shadow[rel >>> 4] = Shadow.FREE; // interrupted pop/push
      if (++count > 1 << 20) throw new HeapCorruptionError(`dead thread slot ${slot}: class ${c} cache list loops`, p);
      prev = p;
      p = decodeLink(mem.u32[p >>> 2]!, p, key);
    }
    const batch = heap.sizeClasses.batchOf[c]!;
    while (count > 0) {
      const take = Math.min(count, batch);
      tierLocks.central(c);
      central.insertRange(c, headWord, take, false);
      mem.f64[slotF64Of(layout, slot) + layout.slot.taken] -= take;
      count -= take;
      report.cachedObjectsReturned += take;
    }
  }
}
