/**
 * The thread-slot protocol: how a thread takes a slot of a heap and gives it back.
 *
 * Owns: each slot's S.STATE word (always with Atomics) and the header's H.ATTACHED count;
 * the rest of a slot belongs to its attached thread (layout.ts), set up here by initSlot()
 * before the slot turns ATTACHED.
 *
 * States: FREE -> claimingState(tid) (negative, names the claimer) -> ATTACHED ->
 * DETACHING -> FREE, or ATTACHED/claiming -> DEAD -> FREE by recovery (recovery.ts). Every
 * transition is a compare-exchange, so a detach racing a recover() of the same slot frees
 * it once. A thread killed at any point leaves a state recovery can tell apart.
 *
 * Callers: handles.ts (claim and release for this thread's attachments), SharedHeap.recover
 * (resyncAttached after recovery freed slots), format.ts (initSlot of every slot of a new heap).
 */

import { ThreadIdentityError, TooManyThreadsError } from './errors.js';
import { claimingState, H, PENDING_SPANS, S, SlotState, slotWordOf, type HeapLayout } from './layout.js';
import { probeSlot, startProbe, stopProbe, type Probe } from './liveness.js';
import { NO_SPAN } from './span.js';
import { threadId } from './thread.js';

/** Claims a free slot for the calling thread and starts its liveness probe. */
export function claimSlot(buffer: SharedArrayBuffer, layout: HeapLayout): { slot: number; probe: Probe } {
  const tid = threadId();
  const i32 = new Int32Array(buffer, 0, layout.pages >>> 2);
  const n = layout.maxThreads;
  const start = (Atomics.add(i32, H.SLOT_SEQ, 1) >>> 0) % n;
  for (let k = 0; k < n; k++) {
    const slot = (start + k) % n;
    const w = slotWordOf(layout, slot) + S.STATE;
    // Claimed in two steps: the state word first names the claiming thread (a negative
    // value), so a thread killed while it sets the slot up leaves a slot that recovery can
    // tell apart and free; only a fully set-up slot becomes ATTACHED.
    if (Atomics.compareExchange(i32, w, SlotState.FREE, claimingState(tid)) === SlotState.FREE) {
      const sw = slotWordOf(layout, slot);
      refuseSharedIdentity(i32, layout, slot, tid);
      // The probe first: from here on recover() must see this thread as alive.
      Atomics.add(i32, sw + S.GENERATION, 1);
      const probe = startProbe(i32, sw);
      initSlot(i32, layout, sw);
      i32[sw + S.THREAD_ID] = tid;
      Atomics.store(i32, w, SlotState.ATTACHED);
      resyncAttached(i32, layout);
      return { slot, probe };
    }
  }
  throw new TooManyThreadsError(n);
}

/**
 * One identity, one live attachment: after claiming `slot` (its state names `tid`), another
 * slot being claimed under `tid`, or attached under it by a thread that answers its
 * liveness probe, means two live threads were given one id: the claim is undone and
 * attach throws, instead of two threads sharing one identity (recover(tid) could not tell
 * them apart). A slot whose holder is gone (its probe wakes nobody: a worker that exited
 * unrecovered, or the copied slots of a byte copy of a heap) is no live attachment. The
 * claim is published first, then the others are read (sequentially consistent), so of
 * two threads claiming under one id at once, at least one sees the other.
 */
function refuseSharedIdentity(i32: Int32Array, layout: HeapLayout, slot: number, tid: number): void {
  for (let other = 0; other < layout.maxThreads; other++) {
    if (other === slot) continue;
    const w = slotWordOf(layout, other);
    const st = Atomics.load(i32, w + S.STATE);
    const attached = (st === SlotState.ATTACHED || st === SlotState.DETACHING) && i32[w + S.THREAD_ID] === tid;
    if (st !== claimingState(tid) && !(attached && probeSlot(i32, w) !== 'dead')) continue;
    Atomics.store(i32, slotWordOf(layout, slot) + S.STATE, SlotState.FREE);
    throw new ThreadIdentityError(
      `thread id ${tid} is already attached to this heap by a live thread (thread slot ${other}): each attached thread needs an id of its own`,
    );
  }
}

/**
 * H.ATTACHED (read by the thread-cache budget) is not counted up and down: a thread killed
 * between a slot's state change and the count's would leave it off by one for good. It is
 * recounted from the slot states by whoever changes one (attach, detach, recover), until a
 * recount sees no change, so a racing recount cannot leave a stale value last.
 */
export function resyncAttached(i32: Int32Array, layout: HeapLayout): void {
  for (let round = 0; round < 8; round++) {
    let n = 0;
    for (let slot = 0; slot < layout.maxThreads; slot++) {
      const st = Atomics.load(i32, slotWordOf(layout, slot) + S.STATE);
      if (st === SlotState.ATTACHED || st === SlotState.DEAD || st === SlotState.DETACHING) n++;
    }
    if (Atomics.exchange(i32, H.ATTACHED, n) === n) return;
  }
}

/** Empty lists, slow start from 1, nothing in flight, no open transaction. */
export function initSlot(i32: Int32Array, layout: HeapLayout, sw: number): void {
  const nc = layout.numClasses;
  i32.fill(0, sw + layout.slot.heads, sw + layout.slot.heads + nc);
  i32.fill(1, sw + layout.slot.maxLengths, sw + layout.slot.maxLengths + nc);
  i32.fill(0, sw + layout.slot.overages, sw + layout.slot.overages + nc);
  i32[sw + S.LOG_LEN] = 0;
  i32[sw + S.TRANSIT_SPAN] = NO_SPAN;
  i32[sw + S.TRANSIT_FREE] = NO_SPAN;
  i32[sw + S.CLAIMED] = 0;
  i32.fill(NO_SPAN, sw + S.PENDING, sw + S.PENDING + PENDING_SPANS);
  i32[sw + S.CACHED_BYTES] = 0;
}

/**
 * Frees this thread's slot (its cache already returned). The probe is stopped while the
 * slot is still ours (DETACHING), so its notify wakes only our waiters, never a next
 * owner's. From then on the probe calls us dead, and a recover() racing this detach (or
 * coming after a kill right here) may take the slot over: it finds nothing left to return,
 * and the compare-exchanges decide who frees it.
 */
export function releaseSlot(buffer: SharedArrayBuffer, layout: HeapLayout, slot: number, probe: Probe | undefined): void {
  const i32 = new Int32Array(buffer, 0, layout.pages >>> 2);
  const w = slotWordOf(layout, slot);
  if (Atomics.compareExchange(i32, w + S.STATE, SlotState.ATTACHED, SlotState.DETACHING) !== SlotState.ATTACHED) return;
  if (probe !== undefined) stopProbe(probe);
  Atomics.add(i32, H.TC_TOTAL_BYTES, -Atomics.exchange(i32, w + S.CACHED_BYTES, 0));
  Atomics.compareExchange(i32, w + S.STATE, SlotState.DETACHING, SlotState.FREE);
  resyncAttached(i32, layout);
}
