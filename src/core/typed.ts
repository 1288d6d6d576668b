/**
 * Typed helpers: allocate a block and get a typed-array view of it in one call (the
 * `mallocAs`/`callocAs` of @thi.ng/malloc), for the common element types.
 *
 * Owns nothing shared: a view is `new T(heap.buffer, p, count)` over a block this thread
 * allocated. Blocks are 16-byte aligned, so every element type fits any block start.
 * The views are fixed-length views of a plain SharedArrayBuffer that never changes (a
 * growable heap grows inside its reservation, memory.ts), so a view stays valid across
 * growth, in every thread it is rebuilt in (`viewAs`), until the block is freed.
 */

import { InvalidPointerError } from './errors.js';

/** What the helpers use of a heap handle (SharedHeap): an interface, so no import back. */
interface TypedHeap {
  readonly buffer: SharedArrayBuffer;
  malloc(n: number): number;
  calloc(count: number, size: number): number;
  realloc(p: number, n: number): number;
  free(p: number): void;
  usableSize(p: number): number;
}
type SharedHeap = TypedHeap;

export const ELEMENT_TYPES = {
  u8: Uint8Array,
  u8c: Uint8ClampedArray,
  i8: Int8Array,
  u16: Uint16Array,
  i16: Int16Array,
  u32: Uint32Array,
  i32: Int32Array,
  f32: Float32Array,
  f64: Float64Array,
  i64: BigInt64Array,
  u64: BigUint64Array,
} as const;

export type ElementType = keyof typeof ELEMENT_TYPES;
/** The view type of each element type, over the heap's SharedArrayBuffer. */
export interface TypedArrayMap {
  u8: Uint8Array<SharedArrayBuffer>;
  u8c: Uint8ClampedArray<SharedArrayBuffer>;
  i8: Int8Array<SharedArrayBuffer>;
  u16: Uint16Array<SharedArrayBuffer>;
  i16: Int16Array<SharedArrayBuffer>;
  u32: Uint32Array<SharedArrayBuffer>;
  i32: Int32Array<SharedArrayBuffer>;
  f32: Float32Array<SharedArrayBuffer>;
  f64: Float64Array<SharedArrayBuffer>;
  i64: BigInt64Array<SharedArrayBuffer>;
  u64: BigUint64Array<SharedArrayBuffer>;
}
export type TypedArrayOf<T extends ElementType> = TypedArrayMap[T];
type AnyTypedArray = TypedArrayMap[ElementType];
type ViewCtor = new (buffer: SharedArrayBuffer, byteOffset: number, length: number) => AnyTypedArray;

function ctorOf(type: ElementType): ViewCtor & { BYTES_PER_ELEMENT: number } {
  const ctor = Object.prototype.hasOwnProperty.call(ELEMENT_TYPES, type) ? ELEMENT_TYPES[type] : undefined;
  if (ctor === undefined) {
    throw new RangeError(`unknown element type ${String(type)} (one of ${Object.keys(ELEMENT_TYPES).join(', ')})`);
  }
  return ctor as unknown as ViewCtor & { BYTES_PER_ELEMENT: number };
}

function checkCount(count: number): void {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
    throw new RangeError(`element count must be a non-negative integer, got ${String(count)}`);
  }
}

/** A view of `count` elements of `type` at block p (allocated from `heap`, by any thread). */
export function viewAs<T extends ElementType>(heap: SharedHeap, type: T, p: number, count: number): TypedArrayOf<T> {
  const Ctor = ctorOf(type);
  checkCount(count);
  if (count * Ctor.BYTES_PER_ELEMENT > heap.usableSize(p)) {
    throw new InvalidPointerError(p, `viewAs: ${count} x ${type} is more than the block's ${heap.usableSize(p)} bytes`);
  }
  return new Ctor(heap.buffer, p, count) as TypedArrayOf<T>;
}

/** malloc(count * element size), returned as a view of `count` elements. */
export function mallocAs<T extends ElementType>(heap: SharedHeap, type: T, count: number): TypedArrayOf<T> {
  const Ctor = ctorOf(type);
  checkCount(count);
  const p = heap.malloc(count * Ctor.BYTES_PER_ELEMENT);
  return new Ctor(heap.buffer, p, count) as TypedArrayOf<T>;
}

/** Like mallocAs, the elements zeroed. */
export function callocAs<T extends ElementType>(heap: SharedHeap, type: T, count: number): TypedArrayOf<T> {
  const Ctor = ctorOf(type);
  checkCount(count);
  const p = heap.calloc(count, Ctor.BYTES_PER_ELEMENT);
  return new Ctor(heap.buffer, p, count) as TypedArrayOf<T>;
}

/** %TypedArray%: every typed array (and no DataView) is an instance of it. */
const TypedArray = Object.getPrototypeOf(Uint8Array) as abstract new () => ArrayBufferView;

/**
 * The block start of a view from mallocAs/callocAs/viewAs of this heap. The view must be
 * a typed array (a DataView has no element type to reallocate in) that starts exactly at
 * a live block and lies inside it: a view at byte offset 0 (the whole buffer, as in
 * `new Uint8Array(heap.buffer)`) or at an interior offset is refused, not taken for
 * free(0) or realloc(0, n), which would silently do nothing or allocate.
 */
function blockOf(heap: SharedHeap, view: AnyTypedArray, op: string): number {
  if (!(view instanceof TypedArray)) {
    throw new InvalidPointerError(view, `${op}: not a typed array (a DataView or other object has no element type)`);
  }
  if ((view.buffer as ArrayBufferLike) !== heap.buffer) {
    throw new InvalidPointerError(view, `${op}: not a view of this heap's buffer`);
  }
  const p = view.byteOffset;
  if (p === 0) {
    throw new InvalidPointerError(view, `${op}: the view starts at byte offset 0 (a view of the whole buffer), not at a block`);
  }
  const usable = heap.usableSize(p); // throws unless p is the start of a live block
  if (view.byteLength > usable) {
    throw new InvalidPointerError(view, `${op}: the view's ${view.byteLength} bytes run past its block's ${usable}`);
  }
  return p;
}

/** realloc of the view's block to `count` elements of the same type; the old view is dead. */
export function reallocAs<V extends AnyTypedArray>(heap: SharedHeap, view: V, count: number): V {
  checkCount(count);
  const p = blockOf(heap, view, 'reallocAs');
  const Ctor = view.constructor as new (b: SharedArrayBuffer, o: number, n: number) => V;
  const q = heap.realloc(p, count * view.BYTES_PER_ELEMENT);
  return new Ctor(heap.buffer, q, count);
}

/** free() of the block a view covers. */
export function freeView(heap: SharedHeap, view: AnyTypedArray): void {
  heap.free(blockOf(heap, view, 'freeView'));
}
