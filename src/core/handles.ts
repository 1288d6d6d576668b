/**
 * The attachment registry: this thread's attachments to heaps, by heap id, and the handle
 * object (SharedHeap) that currently stands for each.
 *
 * A thread's slot belongs to the thread, not to the handle object. An Attachment (the
 * slot, its liveness probe and the thread's tiers over it) is held strongly here from
 * attach until it is detached; its handle only weakly. So:
 * - attach() of a heap this thread is attached to returns its live handle, or, if that
 *   handle was collected and its finalizer has not run yet, a new handle over the same
 *   attachment (the same slot and thread cache: never a second slot);
 * - a handle the application drops without detach() is collected, and its finalizer
 *   detaches the attachment cleanly (cache returned, probe stopped, slot freed), unless a
 *   newer handle took the attachment over meanwhile. Once detached, the attachment (and
 *   with it the buffer) is no longer held.
 * Finalizers run on this thread's event loop, never inside one of its heap operations, so
 * a finalizer's detach and the thread's own calls never interleave.
 *
 * Owns a module-level map (per thread: each worker has its own module instance). A list
 * per id, because byte copies of a heap share its id (sameMemory() tells them apart).
 * Only SharedHeap.attach/detach/releaseCachedMemory use it.
 */

import type { Lock } from '../locks/index.js';
import { DebugBlocks } from './debug.js';
import { Flag, H, HEADER_BYTES, type HeapLayout } from './layout.js';
import type { Probe } from './liveness.js';
import { NoLock } from './nolock.js';
import { claimSlot, releaseSlot } from './slots.js';
import { threadId } from './thread.js';
import { buildTiers, type HeapTiers } from './tiers.js';

/** One attachment of this thread to a heap: what a handle (SharedHeap) is built over. */
export interface Attachment {
  readonly heapId: string;
  readonly buffer: SharedArrayBuffer;
  readonly slot: number;
  readonly probe: Probe;
  readonly tiers: HeapTiers;
  /** Debug mode: this thread's live allocations and serials (they outlive a collected handle). */
  readonly debugBlocks: DebugBlocks;
  /** The lock around a whole operation: the global lock in globalLock mode, else a NoLock. */
  readonly outer: Lock;
  /** The handle standing for it now (weak: the application may drop it). */
  handle: WeakRef<object> | undefined;
  /** Bumped when a new handle takes the attachment over; a finalizer of an older one does nothing. */
  holder: number;
  detached: boolean;
}

const attachments = new Map<string, Attachment[]>();

interface Dropped {
  attachment: Attachment;
  holder: number;
}

const dropped = new FinalizationRegistry<Dropped>(({ attachment, holder }) => {
  if (attachment.detached || attachment.holder !== holder) return;
  try {
    detachAttachment(attachment);
  } catch {
    // The cache could not be returned (a write after free broke one of its lists): the
    // attachment stays registered, so the next attach() in this thread takes it over (and
    // its next operation reports the corruption) instead of claiming a second slot.
  }
});

/** This thread's id for the heap in `buffer`: the heap's random id and the thread id. */
export function heapIdOf(buffer: SharedArrayBuffer, tid: number): string {
  const i32 = new Int32Array(buffer, 0, HEADER_BYTES >>> 2);
  return `${i32[H.HEAP_ID_LO]! >>> 0}:${i32[H.HEAP_ID_HI]! >>> 0}:${tid}`;
}

/**
 * This thread's attachment to the heap in `buffer` (layout: its validated header): the
 * one it has (with its handle, if that is still alive), else a new one on a slot it
 * claims.
 */
export function attachThread(buffer: SharedArrayBuffer, layout: HeapLayout): { attachment: Attachment; handle: object | undefined } {
  const heapId = heapIdOf(buffer, threadId());
  // A byte copy of a heap carries the same id: it is the same heap only if a write
  // through this buffer shows through the attachment's buffer.
  for (const a of attachments.get(heapId) ?? []) {
    if (!a.detached && sameMemory(a.buffer, buffer)) return { attachment: a, handle: a.handle?.deref() };
  }
  const { slot, probe } = claimSlot(buffer, layout);
  let tiers: HeapTiers;
  try {
    tiers = buildTiers(buffer, layout, slot);
  } catch (e) {
    releaseSlot(buffer, layout, slot, probe);
    throw e;
  }
  tiers.threadCache.reset();
  const attachment: Attachment = {
    heapId,
    buffer,
    slot,
    probe,
    tiers,
    debugBlocks: new DebugBlocks(tiers.mem, slot),
    outer: (layout.flags & Flag.GLOBAL_LOCK) !== 0 ? tiers.globalLock : new NoLock(),
    handle: undefined,
    holder: 0,
    detached: false,
  };
  attachments.set(heapId, [...(attachments.get(heapId) ?? []), attachment]);
  return { attachment, handle: undefined };
}

/** Makes `handle` the one standing for the attachment (its first, or a new one over a collected one's slot). */
export function holdBy(attachment: Attachment, handle: object): void {
  attachment.holder++;
  attachment.handle = new WeakRef(handle);
  dropped.register(handle, { attachment, holder: attachment.holder }, handle);
}

/** Gives the thread cache's objects back and drains the TransferCaches (the outer lock around the drain). */
export function releaseCached(tiers: HeapTiers, outer: Lock): void {
  if (tiers.modes.threadCache) tiers.threadCache.flushAll(false);
  tiers.txn.enter(outer);
  try {
    tiers.central.drainTransferCaches();
  } finally {
    tiers.txn.exit(outer);
  }
}

/**
 * Detaches: cache returned (if that throws, nothing else changed and the attachment stays),
 * then forgotten here and the slot freed. SharedHeap.detach() and a collected handle's finalizer.
 */
export function detachAttachment(attachment: Attachment): void {
  const { tiers } = attachment;
  releaseCached(tiers, attachment.outer);
  tiers.threadCache.flushCounters();
  attachment.detached = true;
  const handle = attachment.handle?.deref();
  if (handle !== undefined) dropped.unregister(handle);
  const rest = (attachments.get(attachment.heapId) ?? []).filter((a) => a !== attachment);
  if (rest.length > 0) attachments.set(attachment.heapId, rest);
  else attachments.delete(attachment.heapId);
  releaseSlot(attachment.buffer, tiers.layout, attachment.slot, attachment.probe);
}

function sameMemory(a: SharedArrayBuffer, b: SharedArrayBuffer): boolean {
  if (a === b) return true;
  const ia = new Int32Array(a, 0, HEADER_BYTES >>> 2);
  const ib = new Int32Array(b, 0, HEADER_BYTES >>> 2);
  const bumped = Atomics.add(ib, H.PROBE, 1) + 1;
  return Atomics.load(ia, H.PROBE) === bumped;
}
