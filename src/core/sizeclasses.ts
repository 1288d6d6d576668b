/**
 * SizeClass table, generated the way gperftools' SizeMap::Init does it.
 *
 * Owns: the (immutable, per page size) mapping from request size to size class, and per
 * class its object size, pages per span and batch size (objects moved between a
 * ThreadCache and the CentralCache at once). Every thread regenerates the same table from
 * the page size recorded in the heap header, so nothing of it lives in shared memory.
 *
 * Invariants:
 * - class 0 is reserved: "not a small object" (large spans, free pages).
 * - sizes are multiples of 16, strictly increasing, from 16 to SMALL_MAX (256 KiB).
 * - spacing: the class for a request n wastes at most 1/8 of the class size once n > 128
 *   (alignment is 2^floor(log2 size)/8), and at most 15 bytes below that.
 * - a span of a class of objects below half a span unit (max(page, 8 KiB)) is a whole
 *   number of units and leaves at most 1/8 of its bytes as tail waste; from half a unit up,
 *   the fewest pages that leave at most 1/4 (see spanBytesFor).
 */

export const SMALL_MAX = 256 * 1024;
/**
 * Spans of objects below 4 KiB are laid out in units of at least 8 KiB whatever the page
 * size, so smaller pages give the big classes a finer page rounding without giving the
 * small classes more spans per megabyte (and more central-list and PageHeap trips).
 */
const SMALL_SPAN_UNIT = 8192;
export const MIN_ALIGN = 16;
/** Largest request routed through the size-class lookup table (indexed by (n+15)>>>4). */
const LOOKUP_ENTRIES = SMALL_MAX / MIN_ALIGN + 1;

export interface SizeClassInfo {
  /** Object size in bytes. */
  readonly size: number;
  /** Pages in a span of this class. */
  readonly pages: number;
  /** Objects in a span of this class. */
  readonly objectsPerSpan: number;
  /** Objects moved between ThreadCache and CentralCache at once (num_objects_to_move). */
  readonly batch: number;
}

export interface SizeClassTable {
  readonly pageSize: number;
  /** classes[0] is the reserved "large" class (size 0). */
  readonly classes: readonly SizeClassInfo[];
  /** Number of entries in `classes`, including the reserved class 0. */
  readonly count: number;
  /** classOf[(n + 15) >>> 4] = smallest class whose size >= n, for 0 <= n <= SMALL_MAX. */
  readonly classOf: Uint8Array;
  /** size of class c, as a flat array for the hot path. */
  readonly sizeOf: Int32Array;
  readonly batchOf: Int32Array;
}

/** gperftools NumMoveSize: about 64 KiB per batch, between 2 and 32 objects. */
export function batchSizeFor(size: number): number {
  return Math.max(2, Math.min(32, Math.floor((64 * 1024) / size)));
}

function alignmentFor(size: number): number {
  if (size >= 128) {
    const lgFloor = 31 - Math.clz32(size);
    return Math.max(MIN_ALIGN, (1 << lgFloor) / 8);
  }
  return MIN_ALIGN;
}

const tableCache = new Map<number, SizeClassTable>();

export function sizeClassTable(pageSize: number): SizeClassTable {
  let table = tableCache.get(pageSize);
  if (table === undefined) {
    table = generate(pageSize);
    tableCache.set(pageSize, table);
  }
  return table;
}

/**
 * Bytes of a span of objects of `size`. Below half a unit (SMALL_SPAN_UNIT or the page, if
 * larger): add units until the tail left over is at most 1/8 of the span and the span
 * holds at least a quarter batch (so one fetch does not take a span per object). From half
 * a unit up: the fewest pages whose tail
 * is at most 1/4 of the span, often one object per span. A class of big objects is used
 * sparsely (few live objects each), and a multi-object span with one live object strands
 * the others as committed, unused memory: on mstress (classes 800 B..256 KiB, a few live
 * objects each) spans of 6 x 6.5 KiB or 3 x 13 KiB left 100-200 KiB of free objects in
 * partly used spans at a 1 MiB live set, against at most a quarter of one span per live
 * object here (the page rounding a large allocation pays anyway).
 */
function spanBytesFor(size: number, batch: number, pageSize: number): number {
  const unit = Math.max(pageSize, SMALL_SPAN_UNIT);
  let spanBytes = 0;
  if (size >= unit / 2) {
    do spanBytes += pageSize;
    while (spanBytes % size > spanBytes / 4);
    return spanBytes;
  }
  do {
    spanBytes += unit;
    while (spanBytes % size > spanBytes / 8) spanBytes += unit;
  } while (Math.floor(spanBytes / size) < batch / 4);
  return spanBytes;
}

function generate(pageSize: number): SizeClassTable {
  const classes: SizeClassInfo[] = [{ size: 0, pages: 0, objectsPerSpan: 0, batch: 0 }];
  for (let size = MIN_ALIGN; size <= SMALL_MAX; size += alignmentFor(size)) {
    const batch = batchSizeFor(size);
    const spanBytes = spanBytesFor(size, batch, pageSize);
    const pages = spanBytes / pageSize;
    const objectsPerSpan = Math.floor(spanBytes / size);
    const prev = classes[classes.length - 1]!;
    const below = classes[classes.length - 2]?.size ?? 0;
    if (
      classes.length > 1 &&
      prev.pages === pages &&
      prev.objectsPerSpan === objectsPerSpan &&
      size > 128 &&
      (size - below - 1) / size <= 1 / 8
    ) {
      // Same span shape: widen the previous class instead of adding one (fewer classes
      // mean fuller central lists), unless that would waste more than 1/8 of the widened
      // class on the smallest request it would serve (gperftools merges regardless).
      classes[classes.length - 1] = { size, pages, objectsPerSpan, batch: batchSizeFor(size) };
      continue;
    }
    classes.push({ size, pages, objectsPerSpan, batch });
  }
  if (classes.length > 255) throw new Error(`too many size classes (${classes.length}) for page size ${pageSize}`);

  const classOf = new Uint8Array(LOOKUP_ENTRIES);
  let c = 1;
  for (let i = 0; i < LOOKUP_ENTRIES; i++) {
    const n = i * MIN_ALIGN;
    while (classes[c]!.size < n) c++;
    classOf[i] = c;
  }
  const sizeOf = new Int32Array(classes.length);
  const batchOf = new Int32Array(classes.length);
  for (let k = 0; k < classes.length; k++) {
    sizeOf[k] = classes[k]!.size;
    batchOf[k] = classes[k]!.batch;
  }
  return { pageSize, classes, count: classes.length, classOf, sizeOf, batchOf };
}
