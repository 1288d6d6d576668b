/**
 * The allocator's typed errors. Every error leaves the heap intact: it is thrown before
 * any shared structure is changed, or after the change has been completed or undone.
 * Each class carries a stable `code` so callers across worker boundaries (where the class
 * identity is lost in structured clone) can still tell them apart.
 */

export class SabmallocError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** malloc/calloc/realloc could not find memory; the heap stays usable. */
export class OutOfMemoryError extends SabmallocError {
  readonly requested: number;
  constructor(requested: number, detail: string) {
    super('ERR_SABMALLOC_OOM', `out of memory: cannot allocate ${requested} bytes (${detail})`);
    this.requested = requested;
  }
}

/** A pointer that is not the start of a live block. */
export class InvalidPointerError extends SabmallocError {
  readonly pointer: unknown;
  constructor(pointer: unknown, why: string) {
    super('ERR_SABMALLOC_INVALID_POINTER', `invalid pointer ${describe(pointer)}: ${why}`);
    this.pointer = pointer;
  }
}

/** A block freed twice (from the same or another thread). */
export class DoubleFreeError extends SabmallocError {
  readonly pointer: number;
  constructor(pointer: number) {
    super('ERR_SABMALLOC_DOUBLE_FREE', `double free of block ${pointer} (0x${pointer.toString(16)})`);
    this.pointer = pointer;
  }
}

/** attach() of a buffer that is not a (compatible) sabmalloc heap. */
export class InvalidHeapError extends SabmallocError {
  constructor(why: string) {
    super('ERR_SABMALLOC_INVALID_HEAP', `not a usable sabmalloc heap: ${why}`);
  }
}

/** check() or a hardened fast path found a broken invariant. */
export class HeapCorruptionError extends SabmallocError {
  readonly pointer: number | undefined;
  constructor(why: string, pointer?: number) {
    super('ERR_SABMALLOC_HEAP_CORRUPTION', `heap corruption: ${why}`);
    this.pointer = pointer;
  }
}

/** A call on a handle that has been detached. */
export class DetachedHeapError extends SabmallocError {
  constructor() {
    super('ERR_SABMALLOC_DETACHED', 'this heap handle has been detached from its thread slot');
  }
}

/** recover() of a thread that is still running (or that cannot be shown to have exited). */
export class LiveThreadError extends SabmallocError {
  readonly threadId: number;
  constructor(threadId: number, why: string) {
    super('ERR_SABMALLOC_LIVE_THREAD', `cannot recover thread ${threadId}: ${why}`);
    this.threadId = threadId;
  }
}

function describe(p: unknown): string {
  if (typeof p === 'number') return Number.isInteger(p) && p >= 0 ? `${p} (0x${p.toString(16)})` : String(p);
  if (typeof p === 'string') return JSON.stringify(p);
  if (typeof p === 'bigint') return `${p}n (a bigint)`;
  return typeof p === 'object' ? Object.prototype.toString.call(p) : String(p);
}

/**
 * A thread id that cannot be: none (a browser worker that was given none), setThreadId of
 * another id than Node's threadId, of 0, or after the id was fixed, and an attach under an
 * id a live thread attached to the heap already has.
 */
export class ThreadIdentityError extends SabmallocError {
  constructor(why: string) {
    super('ERR_SABMALLOC_THREAD_ID', why);
  }
}

/** A thread that may not block in Atomics.wait (a browser's main thread) tried to attach. */
export class CannotBlockError extends SabmallocError {
  constructor() {
    super(
      'ERR_SABMALLOC_CANNOT_BLOCK',
      "this thread cannot block in Atomics.wait (a browser's main thread), and the heap's locks may have to: use the heap from a worker",
    );
  }
}

/** attach() found every thread slot of the heap attached. */
export class TooManyThreadsError extends SabmallocError {
  constructor(maxThreads: number) {
    super('ERR_SABMALLOC_NO_THREAD_SLOT', `all ${maxThreads} thread slots of this heap are attached`);
  }
}
