/**
 * Piscina worker for the allocator's multi-worker tests (multiworker, exhaustion, badinput).
 * Runs compiled from dist/workers/heap-worker.js; each export is one task kind, chosen with
 * `pool.run(task, { name })`.
 *
 * Every task attaches to the heap at its start and detaches at its end (so thread slots
 * recycle and a thread that ran an earlier task re-attaches), stamps every block it
 * allocates (see heap-pattern.ts) and verifies every block before freeing it. A broken
 * stamp throws, which rejects the task and fails the test.
 */
import { threadId } from 'node:worker_threads';
import { SharedHeap, OutOfMemoryError } from '../src/index.js';
import {
  between,
  mixedSize,
  requestedOf,
  rng32,
  stampBlock,
  tagOf,
  verifyBlock,
  verifyFill,
  viewsOf,
  type BlockViews,
} from './heap-pattern.js';

/** Owner tag of blocks allocated by this thread. */
const OWNER = threadId + 1;

export interface TaskCounts {
  threadId: number;
  threadSlot: number;
  allocs: number;
  frees: number;
  /** frees of blocks another thread allocated */
  remoteFrees: number;
  /** of `allocs`, those made with calloc (verified zeroed) */
  callocs: number;
  reallocs: number;
  /** reallocs of blocks another thread allocated */
  remoteReallocs: number;
  oom: number;
}

interface Session {
  heap: SharedHeap;
  v: BlockViews;
  c: TaskCounts;
}

/** Attaches this thread (a fresh handle after an earlier task detached) and zeroes counts. */
function begin(buffer: SharedArrayBuffer): Session {
  const heap = SharedHeap.attach(buffer);
  const c = { threadId, threadSlot: heap.threadSlot, allocs: 0, frees: 0, remoteFrees: 0, callocs: 0, reallocs: 0, remoteReallocs: 0, oom: 0 };
  return { heap, v: viewsOf(buffer), c };
}

/** Verifies a stamped block (its usable size seen from this thread too) and frees it. */
function verifyAndFree(heap: SharedHeap, v: BlockViews, p: number, c: TaskCounts): void {
  const len = heap.usableSize(p);
  const req = requestedOf(v, p);
  if (len < req) throw new Error(`block ${p}: usableSize ${len} < requested ${req}`);
  const bad = verifyBlock(v, p, len);
  if (bad !== null) throw new Error(`thread ${threadId}: ${bad}`);
  if (tagOf(v, p) !== OWNER) c.remoteFrees++;
  heap.free(p);
  c.frees++;
}

/** malloc(n), or calloc(1, n) checked to be zeroed, then stamped with this thread's tag. */
function allocStamped(heap: SharedHeap, v: BlockViews, n: number, c: TaskCounts, zeroed = false): number {
  const p = zeroed ? heap.calloc(1, n) : heap.malloc(n);
  const len = heap.usableSize(p);
  if (p <= 0 || p % 16 !== 0 || len < n) throw new Error(`malloc(${n}) gave ${p} with usableSize ${len}`);
  if (zeroed) {
    const bad = verifyFill(v, p, 0, n, 0);
    if (bad !== null) throw new Error(`thread ${threadId}: calloc(1, ${n}): ${bad}`);
    c.callocs++;
  }
  stampBlock(v, p, len, OWNER, n);
  c.allocs++;
  return p;
}

/**
 * Verifies a stamped block (maybe another thread's), reallocs it to n bytes, checks that the
 * first min(requested, n) bytes moved along, and stamps the result as this thread's.
 */
function verifyAndRealloc(heap: SharedHeap, v: BlockViews, p: number, n: number, c: TaskCounts): number {
  const bad = verifyBlock(v, p, heap.usableSize(p));
  if (bad !== null) throw new Error(`thread ${threadId}: before realloc: ${bad}`);
  const keep = Math.min(requestedOf(v, p), n);
  const before = v.u8.slice(p, p + keep);
  if (tagOf(v, p) !== OWNER) c.remoteReallocs++;
  const q = heap.realloc(p, n);
  const len = heap.usableSize(q);
  if (q <= 0 || q % 16 !== 0 || len < n) throw new Error(`realloc(${p}, ${n}) gave ${q} with usableSize ${len}`);
  for (let i = 0; i < keep; i++) {
    if (v.u8[q + i] !== before[i]) throw new Error(`thread ${threadId}: realloc(${p}, ${n}) -> ${q} changed byte ${i} of ${keep}`);
  }
  stampBlock(v, q, len, OWNER, n);
  c.reallocs++;
  return q;
}

export interface ChurnTask {
  buffer: SharedArrayBuffer;
  /** byte offset of the exchange array (Int32 slots holding pointer / 16, 0 = empty) */
  slotsPtr: number;
  slotCount: number;
  ops: number;
  seed: number;
}

/**
 * larson/mstress-style churn: allocate mixed sizes (a tenth with calloc); most new blocks are
 * swapped into a random slot of the shared exchange array with Atomics.exchange and whatever
 * was there (allocated by any thread) is verified and freed, or now and then realloc'ed and
 * kept; the rest live briefly in a local list.
 */
export function churn(t: ChurnTask): TaskCounts {
  const { heap, v, c } = begin(t.buffer);
  const slots = new Int32Array(t.buffer, t.slotsPtr, t.slotCount);
  const next = rng32(t.seed);
  const local: number[] = [];
  const keepLocal = (p: number): void => {
    local.push(p);
    if (local.length > 16) {
      const k = next() % local.length;
      verifyAndFree(heap, v, local[k]!, c);
      local[k] = local[local.length - 1]!;
      local.pop();
    }
  };
  for (let i = 0; i < t.ops; i++) {
    const p = allocStamped(heap, v, mixedSize(next), c, next() % 10 === 0);
    if (next() % 10 < 8) {
      const old = Atomics.exchange(slots, next() % t.slotCount, p / 16);
      if (old === 0) continue;
      // Mostly free what came back; sometimes resize it and keep it.
      if (next() % 8 === 0) keepLocal(verifyAndRealloc(heap, v, old * 16, mixedSize(next), c));
      else verifyAndFree(heap, v, old * 16, c);
    } else {
      keepLocal(p);
    }
  }
  for (const p of local) verifyAndFree(heap, v, p, c);
  heap.detach();
  return c;
}

export interface DrainTask {
  buffer: SharedArrayBuffer;
  slotsPtr: number;
  slotCount: number;
  from: number;
  to: number;
}

/** Empties slots [from, to) of the exchange array, verifying and freeing each block. */
export function drain(t: DrainTask): TaskCounts {
  const { heap, v, c } = begin(t.buffer);
  const slots = new Int32Array(t.buffer, t.slotsPtr, t.slotCount);
  for (let k = t.from; k < t.to; k++) {
    const old = Atomics.exchange(slots, k, 0);
    if (old !== 0) verifyAndFree(heap, v, old * 16, c);
  }
  heap.detach();
  return c;
}

export interface ExhaustTask {
  buffer: SharedArrayBuffer;
  seed: number;
  /** largest request; requests are 16..maxSize, a quarter of them above 256 KiB if maxSize allows */
  maxSize: number;
  /** stop after this many blocks even without an OutOfMemoryError */
  maxBlocks: number;
}

export interface ExhaustResult extends TaskCounts {
  blocks: number[];
  /** sum of usableSize over `blocks` */
  liveBytes: number;
  /** the code of the first OutOfMemoryError, '' if none */
  oomCode: string;
  heapBytesSeen: number;
}

/**
 * Allocates random sizes until malloc throws OutOfMemoryError, then keeps asking for
 * smaller sizes (halving down to 16 B) until even 16 B fails, so every worker takes part in
 * exhausting the heap. Returns the live blocks, stamped, without freeing them.
 */
export function exhaust(t: ExhaustTask): ExhaustResult {
  const { heap, v, c } = begin(t.buffer);
  const next = rng32(t.seed);
  const blocks: number[] = [];
  let oomCode = '';
  let cap = t.maxSize;
  while (blocks.length < t.maxBlocks) {
    const n = next() % 4 === 0 && cap > 256 * 1024 ? between(next, 256 * 1024 + 1, cap) : between(next, 16, Math.min(cap, 16 * 1024));
    try {
      blocks.push(allocStamped(heap, v, n, c));
    } catch (e) {
      if (!(e instanceof OutOfMemoryError)) throw e;
      c.oom++;
      if (oomCode === '') oomCode = e.code;
      if (cap === 16) break;
      cap = Math.max(16, cap >>> 1);
    }
  }
  const heapBytesSeen = heap.stats().heapBytes;
  let liveBytes = 0;
  for (const p of blocks) liveBytes += heap.usableSize(p);
  heap.detach();
  return { ...c, blocks, liveBytes, oomCode, heapBytesSeen };
}

export interface FreeTask {
  buffer: SharedArrayBuffer;
  blocks: number[];
}

/** Verifies and frees the given stamped blocks (usually allocated by other workers). */
export function freeBlocks(t: FreeTask): TaskCounts {
  const { heap, v, c } = begin(t.buffer);
  for (const p of t.blocks) verifyAndFree(heap, v, p, c);
  heap.detach();
  return c;
}

export interface AllocTask {
  buffer: SharedArrayBuffer;
  sizes: number[];
  /** keep the blocks (returned) instead of freeing them at the end */
  keep?: boolean;
}

export interface AllocResult extends TaskCounts {
  blocks: number[];
}

/** Allocates every size (throwing on any error), verifies, then frees unless `keep`. */
export function allocSizes(t: AllocTask): AllocResult {
  const { heap, v, c } = begin(t.buffer);
  const blocks = t.sizes.map((n) => allocStamped(heap, v, n, c));
  if (!t.keep) {
    for (const p of blocks) verifyAndFree(heap, v, p, c);
    blocks.length = 0;
  }
  heap.detach();
  return { ...c, blocks };
}

export interface TryTask {
  buffer: SharedArrayBuffer;
  op: 'free' | 'usableSize' | 'realloc';
  p: number;
}

export interface TryResult {
  ok: boolean;
  name: string;
  code: string;
  message: string;
}

/**
 * Runs one call expected to fail (e.g. a double free from another thread) and reports the
 * error's class name and code (class identity does not survive structured clone). Runs
 * check() after the failure and detaches.
 */
export function tryOp(t: TryTask): TryResult {
  const heap = SharedHeap.attach(t.buffer);
  let r: TryResult = { ok: true, name: '', code: '', message: '' };
  try {
    if (t.op === 'free') heap.free(t.p);
    else if (t.op === 'usableSize') heap.usableSize(t.p);
    else heap.realloc(t.p, 32);
  } catch (e) {
    const err = e as Error & { code?: string };
    r = { ok: false, name: err.constructor.name, code: err.code ?? '', message: err.message };
  }
  heap.check();
  const q = heap.malloc(48);
  heap.free(q);
  heap.detach();
  return r;
}
