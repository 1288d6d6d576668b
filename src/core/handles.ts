/**
 * The handle registry: this thread's SharedHeap handles, by heap id, so that attach() of
 * the same heap on the same thread returns the same handle.
 *
 * Owns a module-level map (per thread: each worker has its own module instance) of
 * WeakRefs. A list per id, because byte copies of a heap share its id (sameMemory() tells
 * them apart). Weak: a handle the application drops (without detach()) is collected, and
 * with it its buffer; the finalizer stops its liveness probe (whose pending waiters would
 * hold the buffer) and forgets the entry. Its slot stays attached until another thread
 * recover()s it (the probe then reports the slot's owner gone).
 *
 * Only SharedHeap.attach (findHandle, registerHandle) and detach (forgetHandle) use it.
 */

import { H, HEADER_BYTES } from './layout.js';
import { stopProbe, type Probe } from './liveness.js';

interface Handle {
  readonly buffer: SharedArrayBuffer;
}

const handles = new Map<string, WeakRef<Handle>[]>();

interface Dropped {
  heapId: string;
  probe: Probe;
}

const dropped = new FinalizationRegistry<Dropped>(({ heapId, probe }) => {
  stopProbe(probe);
  pruneHandles(heapId, undefined);
});

/** Drops collected handles (and `gone`) from the heap id's list. */
function pruneHandles(heapId: string, gone: Handle | undefined): void {
  const rest = (handles.get(heapId) ?? []).filter((r) => {
    const h = r.deref();
    return h !== undefined && h !== gone;
  });
  if (rest.length > 0) handles.set(heapId, rest);
  else handles.delete(heapId);
}

/** This thread's id for the heap in `buffer`: the heap's random id and the thread id. */
export function heapIdOf(buffer: SharedArrayBuffer, tid: number): string {
  const i32 = new Int32Array(buffer, 0, HEADER_BYTES >>> 2);
  return `${i32[H.HEAP_ID_LO]! >>> 0}:${i32[H.HEAP_ID_HI]! >>> 0}:${tid}`;
}

/** This thread's live handle on the heap in `buffer`, if it has one. */
export function findHandle<T extends Handle>(heapId: string, buffer: SharedArrayBuffer): T | undefined {
  // A byte copy of a heap carries the same id: it is the same heap only if a write
  // through this buffer shows through the existing handle's buffer.
  for (const ref of handles.get(heapId) ?? []) {
    const h = ref.deref();
    if (h !== undefined && sameMemory(h.buffer, buffer)) return h as T;
  }
  return undefined;
}

/** Records a new handle; if it is dropped undetached, its probe is stopped when it is collected. */
export function registerHandle(heapId: string, handle: Handle, probe: Probe): void {
  pruneHandles(heapId, undefined);
  handles.set(heapId, [...(handles.get(heapId) ?? []), new WeakRef(handle)]);
  dropped.register(handle, { heapId, probe }, handle);
}

/** Forgets a handle that detached. */
export function forgetHandle(heapId: string, handle: Handle): void {
  pruneHandles(heapId, handle);
  dropped.unregister(handle);
}

function sameMemory(a: SharedArrayBuffer, b: SharedArrayBuffer): boolean {
  if (a === b) return true;
  const ia = new Int32Array(a, 0, HEADER_BYTES >>> 2);
  const ib = new Int32Array(b, 0, HEADER_BYTES >>> 2);
  const bumped = Atomics.add(ib, H.PROBE, 1) + 1;
  return Atomics.load(ia, H.PROBE) === bumped;
}
