/**
 * ThreadCache: the top tier, one per attached thread, no lock at all.
 *
 * Owns: its thread slot (free-list heads, max lengths, overage counts, counters) and every
 * object on its lists, first and second words included. Only the owning thread writes any
 * of it, with plain typed-array stores: the fast path (allocate/deallocate) touches no
 * atomics. Other threads read a slot only for stats(), check() and recovery of a dead owner.
 *
 * Invariants:
 * - list c is a safe-linked chain of FREE objects of class c, ending in 0;
 * - every object on it holds its depth in its second word: the number of objects from it
 *   to the end of the list, itself included. So the list's length is its head's depth: a
 *   push writes depth(old head) + 1, a pop updates no length at all (the next object
 *   already holds the shorter list's), and a release of the first n objects leaves the
 *   others' depths right. (A LENGTHS word per class, read and written by every malloc and
 *   free, would cost 15-20 instructions and two read-modify-writes per pair.)
 * - the length is <= MAX_LENGTHS[c] + 1 at all times (a free over the limit releases a batch);
 * - depth words are in freed memory, where a write after free can change them; they only
 *   bound the list (the links, checked on every pop, are what it holds). A depth that
 *   cannot be (over MAX_LENGTHS + 1 when read on a slow path, or not n less after releasing
 *   n) makes the owner walk the list, checking every object, and rewrite them (recount());
 *   one lowered by a write stays unseen until check() (which verifies every depth) or the
 *   next flush (which walks): the list may then hold more than its bound;
 * - small mallocs are not counted: every pop is a malloc and every push a free, so a slot's
 *   small mallocs = its small frees + TAKEN (objects moved in from the central cache minus
 *   objects moved back, counted on slow paths) - the objects on its lists. Frees are
 *   counted owner-locally and published on slow paths.
 * - the budget is kept on capacity, not on contents: capacityBytes = sum over the classes
 *   this thread has used of (MAX_LENGTHS[c] + 1) * size(c) bounds the bytes this cache can
 *   hold (a class never fetched holds nothing), and it changes only on slow paths (fetch,
 *   overflow, scavenge). So the fast path does no byte accounting at all, and budget
 *   bookkeeping never takes the PageHeap lock (gperftools #959) nor an atomic outside
 *   slow paths. One-object-span classes are left out of it: their lists hold at
 *   most one block each and are given back whenever this thread takes another span-sized
 *   block (releaseSpanBlocks), and counted at two blocks each they alone (38 classes of 8
 *   KiB pages, 5.8 MiB) exceed the 4 MiB default budget, which made every fetch of a thread
 *   that had used them scavenge every list.
 *
 * Crash consistency (a worker can be terminated between any two statements): the fast
 * path orders its stores so that the list is always a well-formed chain, and the only
 * trace of an interrupted operation is a list head whose SHADOW says ALLOCATED (a pop or a
 * push cut short; a push writes the depth word before it links the object in). Recovery
 * walks the chain, marks such a head FREE, and trusts the walk, not the depth words. Moves
 * to and from the CentralCache happen inside the central lock's transaction (the list
 * words are logged there). Code outside the owner reaches the lists through cachelists.ts.
 *
 * Slow start and release follow gperftools: max length starts at 1, grows by one up to a
 * batch, then by whole batches; a list that overflows releases a batch to the CentralCache
 * and, after more than 3 overflows, shrinks by a batch. Exception: a class whose span holds
 * one object (most classes from 6 KiB up with 8 KiB pages, sizeclasses.ts) keeps max length
 * 1. Its batch is 2 (gperftools' minimum), so a second fetch would populate a second span
 * nobody asked for and a cache could park two spans per class (2 x 256 KiB at the top):
 * measured on mstress, such cached spans were up to a quarter of a 1-worker run's committed
 * bytes. Kept at 1, a fetch populates exactly the span it serves, and a second free of the
 * class sends one block back (not a batch into the TransferCache), whose span returns to
 * the PageHeap at once. And before the thread takes a new span-sized block (a fetch of such
 * a class, a large malloc), it gives back the blocks it caches of the other such classes
 * (releaseSpanBlocks): each is a whole span usable by its own class only, and back in the
 * PageHeap it can serve the new block instead of pages above the high-water mark.
 */

import { listCorruption } from './cachelists.js';
import { H, S, Shadow, slotF64Of, slotWordOf } from './layout.js';
import { decodeLink } from './safelink.js';
import type { CentralCache } from './centralcache.js';
import type { HeapMemory } from './memory.js';
import type { SizeClassTable } from './sizeclasses.js';

/** gperftools kMaxDynamicFreeListLength. */
const MAX_LIST_LENGTH = 8192;
const MAX_OVERAGES = 3;

export class ThreadCache {
  // `declare`: no class-field definition (es2022 would first define every field as
  // undefined, and V8 then types a number field "any tagged value" and an object field
  // "any map": a Smi check or a map check on every fast-path load; 283 -> 219
  // instructions per malloc+free pair, measured with callgrind). Each field is created
  // once, by its first store in the constructor, with its real type.
  private declare readonly mem: HeapMemory;
  private declare readonly central: CentralCache;
  private declare readonly sizeOf: Int32Array;
  private declare readonly batchOf: Int32Array;
  /** Largest max length of each class's list: 1 for one-object spans, else unbounded (slow paths only). */
  private declare readonly lengthCapOf: Int32Array;
  private declare readonly numClasses: number;
  /** The classes of one-object spans (max length 1): each cached block holds a whole span. */
  private declare readonly spanClasses: Int32Array;
  /**
   * 1: safe-linked lists (hardened heap), 0: plain links (`hardening: false`). The key
   * itself is not a field: where V8 has 31-bit Smis (pointer compression: browsers, the web
   * lab; not Node 20 on x64) a random int32 fits a Smi only half the time, and one heap
   * whose key does not makes V8 store the field boxed (a HeapNumber) in every ThreadCache
   * of the process, so the fast path reads the key from its header word (u32[H.KEY]).
   */
  private declare readonly hardened: number;
  private declare readonly base: number;
  private declare readonly pageShift: number;
  /** Int32/Uint32 index of this slot's first word. */
  private declare readonly slotWord: number;
  private declare readonly heads: number;
  private declare readonly maxLengths: number;
  private declare readonly overages: number;
  /** Float64 index of the slot's TAKEN counter (objects moved in from the central cache minus out). */
  private declare readonly takenCounter: number;
  private declare readonly freesCounter: number;
  private declare readonly misses: number;
  // Views copied from HeapMemory so the fast path does one property load per access (they
  // never change: the buffer reserves the whole heap, see memory.ts).
  private declare readonly u32: Uint32Array;
  private declare readonly i32: Int32Array;
  private declare readonly u8: Uint8Array;
  /** Indexes in u8 of SHADOW[0] and PAGECLASS[0]. */
  private declare readonly shadowAt: number;
  private declare readonly pageClassAt: number;
  /** Frees not yet published to the slot (owner-local; small mallocs are not counted: see the header). */
  private frees = 0;
  private declare readonly f64: Float64Array;
  /** 16-byte granules from base to one past the last byte the views cover (< 2^28: a Smi). */
  private declare readonly granules: number;
  /** Upper bound of the bytes this cache can hold: sum of (max length + 1) * size over used classes. */
  private capacityBytes = 0;
  /** popJudged: the depth word its block must hold (debug heaps: anything else there was written after free). */
  poppedDepth = 0;
  /** Depth setDepths gave the block the last fetch popped (its list's length then). */
  private fetchedDepth = 0;
  /** used[c] = 1 once class c has been fetched by this thread, and counts in capacityBytes (owner-local; never for one-object-span classes). */
  private declare readonly used: Uint8Array;
  private maxBytes = 0;

  constructor(mem: HeapMemory, central: CentralCache, table: SizeClassTable, slot: number) {
    const L = mem.layout;
    this.mem = mem;
    this.central = central;
    this.sizeOf = table.sizeOf;
    this.batchOf = table.batchOf;
    this.lengthCapOf = new Int32Array(table.count);
    for (let c = 1; c < table.count; c++) this.lengthCapOf[c] = table.classes[c]!.objectsPerSpan === 1 ? 1 : MAX_LIST_LENGTH;
    this.numClasses = table.count;
    const spanClasses: number[] = [];
    for (let c = 1; c < table.count; c++) if (this.lengthCapOf[c] === 1) spanClasses.push(c);
    this.spanClasses = Int32Array.from(spanClasses);
    this.hardened = L.key === 0 ? 0 : 1;
    this.base = mem.base;
    this.pageShift = mem.pageShift;
    this.slotWord = slotWordOf(L, slot);
    this.heads = this.slotWord + L.slot.heads;
    this.maxLengths = this.slotWord + L.slot.maxLengths;
    this.overages = this.slotWord + L.slot.overages;
    const f64Base = slotF64Of(L, slot);
    this.takenCounter = f64Base + L.slot.taken;
    this.freesCounter = f64Base + L.slot.frees;
    this.misses = f64Base + L.slot.misses;
    this.u32 = mem.u32;
    this.i32 = mem.i32;
    this.u8 = mem.u8;
    this.shadowAt = L.shadow;
    this.pageClassAt = L.pageClass;
    this.f64 = mem.f64;
    this.granules = Math.floor((mem.limit - mem.base) / 16);
    this.used = new Uint8Array(table.count);
  }

  /** Owner-local state of a freshly claimed slot (claimSlot set up the shared words). */
  reset(): void {
    this.used.fill(0);
    this.capacityBytes = 0;
    this.updateBudget();
  }

  /**
   * Fast path of malloc for class cls (hardened heaps). Returns 0 when neither this cache
   * nor the central cache could provide an object (out of memory).
   */
  allocate(cls: number): number {
    // Two views only (u32 for words, u8 for the SHADOW and PAGECLASS bytes): every
    // distinct typed array costs the JIT a map check and a bounds load per use.
    // `(a + b) | 0` on index sums (here and in every fast path): both are small int32s,
    // and the truncation spares V8 an overflow check per sum (206 -> 188 instructions
    // per hardened pair, 181 -> 168 with hardening: false, callgrind).
    const u32 = this.u32;
    const u8 = this.u8;
    const hw = (this.heads + cls) | 0;
    const head = u32[hw]!;
    if (head === 0) return this.fetchFromCentral(cls) >>> 0;
    // decodeLink, inlined by hand: an imported function is reached through a module
    // binding cell that the JIT re-checks on every call.
    const next = (u32[head >>> 2]! ^ u32[11 /* H.KEY */]! ^ Math.imul(head, -1640531535 /* LINK_MIX */)) >>> 0;
    if (next !== 0) {
      const rel = next - this.base;
      if ((next & 15) !== 0 || u8[(this.shadowAt + (rel >>> 4)) | 0] !== Shadow.FREE || u8[(this.pageClassAt + (rel >>> this.pageShift)) | 0] !== cls) {
        return this.refuse(head, next, cls);
      }
    }
    // Mark before unlinking: if the thread dies in between, recovery finds an ALLOCATED
    // head still on the list and knows the pop never completed.
    u8[(this.shadowAt + ((head - this.base) >>> 4)) | 0] = Shadow.ALLOCATED;
    u32[hw] = next;
    return head;
  }

  /**
   * Fast path of free (hardened heaps). Returns false (and changes nothing) unless p is an
   * allocated small block this thread's views cover; the caller's slow path then sorts
   * out why.
   */
  free(p: number): boolean {
    // The range test on the granule index (< 2^28, a Smi) rather than on p (up to 2^32):
    // base <= p < limit compared as numbers goes through float64 as soon as any caller has
    // passed a non-Smi p (a pointer kept in a Float64Array), which every heap's fast path
    // then pays. A p below base wraps to a granule index past the end.
    if ((p >>> 0) !== p || (p & 15) !== 0) return false;
    const rel = (p - this.base) >>> 0;
    const g = rel >>> 4;
    if (g >= this.granules) return false;
    const u8 = this.u8;
    if (u8[(this.shadowAt + g) | 0] !== Shadow.ALLOCATED) return false;
    const cls = u8[(this.pageClassAt + (rel >>> this.pageShift)) | 0]!;
    if (cls === 0) return false;
    this.pushLinked(p, cls);
    return true;
  }

  /**
   * Fast path of malloc for heaps created with `hardening: false` (flag UNHARDENED): the
   * links are plain and the popped link is not validated. Same store order as allocate().
   */
  allocateRaw(cls: number): number {
    const u32 = this.u32;
    const hw = (this.heads + cls) | 0;
    const head = u32[hw]!;
    if (head === 0) return this.fetchFromCentral(cls) >>> 0;
    this.u8[(this.shadowAt + ((head - this.base) >>> 4)) | 0] = Shadow.ALLOCATED;
    u32[hw] = u32[head >>> 2]!;
    return head;
  }

  /**
   * Fast path of free for `hardening: false` heaps: p must be a 16-aligned pointer into
   * a small span's pages (so a stray value never writes metadata), but its SHADOW state
   * is not read: a double free or an interior pointer corrupts the list silently. The
   * SHADOW byte is still written, so check(), recovery and realloc see the true state.
   */
  freeRaw(p: number): boolean {
    if ((p >>> 0) !== p || (p & 15) !== 0) return false;
    const rel = (p - this.base) >>> 0; // range test as in free()
    if (rel >>> 4 >= this.granules) return false;
    const cls = this.u8[(this.pageClassAt + (rel >>> this.pageShift)) | 0]!;
    if (cls === 0) return false;
    this.pushRaw(p, cls);
    return true;
  }

  /**
   * Debug heaps' pop of list cls (0: out of memory), which also judges the popped block's
   * depth word at the pop (poppedDepth): one more than the new head's, 1 if the list is
   * now empty; after a fetch, the depth setDepths wrote. Judged here and not by the
   * caller afterwards: a fetch pops its block and then, over budget, scavenges, giving
   * part of the same list back, after which the block's depth no longer matches what is
   * left of the list (a false use after free once read as one).
   */
  popJudged(cls: number): number {
    if (this.u32[this.heads + cls] === 0) {
      this.poppedDepth = 0;
      const p = this.fetchFromCentral(cls) >>> 0;
      this.poppedDepth = this.fetchedDepth;
      return p;
    }
    const p = this.pop(cls);
    const head = this.u32[this.heads + cls]!;
    this.poppedDepth = head === 0 ? 1 : (this.u32[(head >>> 2) + 1]! + 1) >>> 0;
    return p;
  }

  /** Slow paths' pop of list cls, in the heap's link mode (0: out of memory). */
  pop(cls: number): number {
    return this.hardened === 0 ? this.allocateRaw(cls) : this.allocate(cls);
  }

  /** Pushes an allocated small block (already validated) onto list cls (slow paths). */
  deallocate(p: number, cls: number): void {
    if (this.hardened === 0) this.pushRaw(p, cls);
    else this.pushLinked(p, cls);
  }

  /** Push with a safe-linked link (hardened heaps). */
  private pushLinked(p: number, cls: number): void {
    const u32 = this.u32;
    const hw = (this.heads + cls) | 0;
    const head = u32[hw]!;
    // encodeLink, inlined
    if (this.push(p, cls, hw, head, (head ^ u32[11 /* H.KEY */]! ^ Math.imul(p, -1640531535 /* LINK_MIX */)) >>> 0)) {
      this.listTooLong(cls);
    }
  }

  /** Push with a plain link (`hardening: false`). */
  private pushRaw(p: number, cls: number): void {
    const hw = (this.heads + cls) | 0;
    const head = this.u32[hw]!;
    // Its own call site of listTooLong (not one inside push): V8 keeps call feedback per
    // site, so hardened heaps overflowing in this process do not compile the call (and the
    // loss of what the optimizer knew after it) into this mode's inlined free.
    if (this.push(p, cls, hw, head, head)) this.listTooLong(cls);
  }

  /**
   * Makes p (already validated) the head of list cls (head word hw, current head `head`),
   * its first word holding `link`, its second its depth (the list's new length: one more
   * than the old head's depth). A pop changes no length at all: the next object's depth
   * word already holds the shorter list's length. Returns true if the list is now too long
   * (the caller then calls listTooLong).
   */
  private push(p: number, cls: number, hw: number, head: number, link: number): boolean {
    const u32 = this.u32;
    const w = p >>> 2;
    const depth = head === 0 ? 1 : (u32[((head >>> 2) + 1) | 0]! + 1) | 0;
    // Link and depth first, mark FREE last: an interrupted push leaves either an allocated
    // block off the list, or an ALLOCATED head on it (completed as a free by recovery).
    u32[w] = link;
    u32[(w + 1) | 0] = depth;
    u32[hw] = p;
    this.u8[(this.shadowAt + ((p - this.base) >>> 4)) | 0] = Shadow.FREE;
    this.frees++;
    // Unsigned: a depth word overwritten with a negative number still trips the test.
    return depth >>> 0 > u32[(this.maxLengths + cls) | 0]!;
  }

  /** Publishes the owner-local free count to the slot (slow paths, stats, detach). */
  flushCounters(): void {
    const f64 = this.mem.f64;
    f64[this.freesCounter] = f64[this.freesCounter]! + this.frees;
    this.frees = 0;
  }

  /** Records n objects moved into (n > 0) or out of (n < 0) this cache's lists (slow paths). */
  private taken(n: number): void {
    this.f64[this.takenCounter] = this.f64[this.takenCounter]! + n;
  }

  /** Depth word of list cls's head: the list's length if no write after free changed it (0: empty). */
  private depth(cls: number): number {
    const head = this.u32[this.heads + cls]!;
    return head === 0 ? 0 : this.u32[(head >>> 2) + 1]!;
  }

  /**
   * Length of list cls for a release (slow paths): the head's depth, or, when that is more
   * than the list can hold (MAX_LENGTHS + 1: overwritten), the length found by walking it.
   */
  private length(cls: number): number {
    const d = this.depth(cls);
    return d <= this.u32[this.maxLengths + cls]! + 1 ? d : this.recount(cls);
  }

  /**
   * Walks list cls, checking every object as a pop checks the one it unlinks, and rewrites
   * every depth word from the walk; returns the length. The repair for a depth word a
   * write after free changed (the links, checked here, are what the list is; a depth word
   * only bounds it), and the exact count a flush needs.
   */
  private recount(cls: number): number {
    const u32 = this.u32;
    const key = this.hardened === 0 ? 0 : u32[H.KEY]!;
    const head = u32[this.heads + cls]!;
    let n = 0;
    let prev = 0;
    for (let p = head; p !== 0; p = decodeLink(u32[p >>> 2]!, p, key)) {
      if (!this.isCachedObjectOf(p, cls) || n >= this.granules) this.refuse(prev, p, cls);
      n++;
      prev = p;
    }
    // Second walk, writing the depths (setDepths checks every object again and stops after
    // n): another thread writing into a cached block (a use after free racing this flush)
    // can change a link between the two walks. Followed unchecked, the new link sent this
    // loop through arbitrary words of the buffer, writing each, for as long as the garbage
    // chain lasted (a hang in the hardening race test; test/unit/recount-race.test.ts).
    this.setDepths(cls, n);
    return n;
  }

  /** True if p can be an object on list cls: 16-aligned, inside the heap, SHADOW FREE, of class cls. */
  private isCachedObjectOf(p: number, cls: number): boolean {
    const rel = (p - this.base) >>> 0;
    return (
      (p & 15) === 0 &&
      rel >>> 4 < this.granules &&
      this.u8[this.shadowAt + (rel >>> 4)] === Shadow.FREE &&
      this.u8[this.pageClassAt + (rel >>> this.pageShift)] === cls
    );
  }

  /**
   * Gives list cls, which must hold exactly n objects, depth words n..1: after a fetch
   * filled it (it was empty), and in recount(). Each object is checked before its word is
   * written, and the list must end after n: the central cache checked the links it moved,
   * and recount() walked them, but another thread may write into one of these blocks (a use
   * after free) before this walk reaches it.
   */
  private setDepths(cls: number, n: number): void {
    const u32 = this.u32;
    const key = this.hardened === 0 ? 0 : u32[H.KEY]!;
    let p = u32[this.heads + cls]!;
    let prev = 0;
    for (let d = n; d > 0; d--) {
      if (!this.isCachedObjectOf(p, cls)) this.refuse(prev, p, cls);
      u32[(p >>> 2) + 1] = d;
      prev = p;
      p = decodeLink(u32[p >>> 2]!, p, key);
    }
    if (p !== 0) this.refuse(prev, p, cls);
  }

  private fetchFromCentral(cls: number): number {
    if (this.lengthCapOf[cls] === 1) this.releaseSpanBlocks(cls);
    const batch = this.batchOf[cls]!;
    let maxLength = this.i32[this.maxLengths + cls]!;
    const got = this.central.removeRange(cls, Math.min(maxLength, batch), this.heads + cls);
    if (got === 0) return 0;
    this.taken(got);
    this.setDepths(cls, got);
    this.fetchedDepth = got;
    // Take ours first: the budget check below may give half of every list back.
    const p = this.pop(cls);
    if (this.used[cls] === 0 && this.lengthCapOf[cls] !== 1) {
      this.used[cls] = 1;
      this.capacityBytes += (maxLength + 1) * this.sizeOf[cls]!;
    }
    const oldMax = maxLength;
    const cap = this.lengthCapOf[cls]!;
    if (maxLength >= cap) maxLength = cap;
    else if (maxLength < batch) maxLength++;
    else {
      maxLength = Math.min(maxLength + batch, MAX_LIST_LENGTH);
      maxLength -= maxLength % batch;
    }
    this.setMaxLength(cls, oldMax, maxLength);
    this.f64[this.misses]++;
    this.flushCounters();
    if (this.capacityBytes > this.maxBytes) this.scavenge();
    else this.publish();
    return p;
  }

  /** malloc without caching (threadCache: false, globalLock): one object from central. */
  allocateUncached(cls: number): number {
    if (this.central.removeRange(cls, 1, this.heads + cls) === 0) return 0;
    this.taken(1);
    // No depth word: the pop below takes the list's only object (and a debug heap checks
    // that the block is still poisoned past its link word).
    return this.pop(cls);
  }

  /**
   * free without caching: the block goes straight back to its span. The push is the
   * cached one (the list is empty here and its max length stays 1, so it never overflows);
   * the insertRange then takes the block off again inside the central transaction.
   */
  deallocateUncached(p: number, cls: number): void {
    // The push writes p's depth word; put back what was there (the block leaves the list
    // below, and a debug heap's poison must stay whole past the link word).
    const depthWord = (p >>> 2) + 1;
    const saved = this.u32[depthWord]!;
    this.deallocate(p, cls);
    this.u32[depthWord] = saved;
    let done = false;
    try {
      this.central.insertRange(cls, this.heads + cls, 1, false);
      done = true;
      this.taken(-1);
    } finally {
      // The central section threw and rolled back: p is our list's head again. Pop it, so
      // the free fails whole (p stays allocated) and the list stays empty, as this mode needs.
      if (!done) this.pop(cls);
    }
    this.flushCounters();
  }

  private listTooLong(cls: number): void {
    const batch = this.batchOf[cls]!;
    // The push tripped at depth MAX_LENGTHS + 1; any other depth was overwritten below.
    const d = this.depth(cls);
    const length = d === this.i32[this.maxLengths + cls]! + 1 ? d : this.recount(cls);
    if (length <= this.i32[this.maxLengths + cls]!) return; // only the depth was wrong (repaired)
    const cap = this.lengthCapOf[cls]!;
    // A capped class gives back only the overflow (one block, which is one span: it goes
    // to its span and on to the PageHeap, not parked as a batch in the TransferCache).
    const n = cap < batch ? length - cap : Math.min(length, batch);
    this.releaseToCentral(cls, n, true);
    // The new head's depth must be n less: if not, a depth word further down was overwritten.
    if (this.u32[this.heads + cls] !== 0 && this.depth(cls) !== length - n) this.recount(cls);
    const maxLength = this.i32[this.maxLengths + cls]!;
    if (maxLength < batch) {
      if (maxLength < this.lengthCapOf[cls]!) this.setMaxLength(cls, maxLength, maxLength + 1);
    } else if (maxLength > batch) {
      const overages = this.i32[this.overages + cls]! + 1;
      if (overages > MAX_OVERAGES) {
        this.setMaxLength(cls, maxLength, maxLength - batch);
        this.i32[this.overages + cls] = 0;
      } else {
        this.i32[this.overages + cls] = overages;
      }
    }
    this.flushCounters();
    if (this.capacityBytes > this.maxBytes) this.scavenge();
    else this.publish();
  }

  private setMaxLength(cls: number, from: number, to: number): void {
    this.i32[this.maxLengths + cls] = to;
    if (this.used[cls] === 1) this.capacityBytes += (to - from) * this.sizeOf[cls]!;
  }

  private recomputeCapacity(): number {
    let bytes = 0;
    for (let c = 1; c < this.numClasses; c++) {
      if (this.used[c] === 1) bytes += (this.i32[this.maxLengths + c]! + 1) * this.sizeOf[c]!;
    }
    return bytes;
  }

  /**
   * Over budget: give back half of every list (gperftools halves the low-water mark) and
   * cap every max length at half, so capacity comes back under the budget.
   */
  private scavenge(): void {
    for (let c = 1; c < this.numClasses; c++) {
      const length = this.length(c);
      const maxLength = this.i32[this.maxLengths + c]!;
      const keep = Math.max(1, maxLength >>> 1);
      if (length > 0) this.releaseToCentral(c, length - Math.min(length, keep >>> 1), true);
      this.i32[this.maxLengths + c] = keep;
    }
    this.capacityBytes = this.recomputeCapacity();
    this.publish();
  }

  /**
   * Gives back the blocks cached in one-object-span classes other than `keep`: called
   * before this thread takes a new span-sized block (a fetch of such a class, a large
   * malloc). Each such block is a whole span parked for its own class only; given back
   * first, it returns to the PageHeap, where it can serve this request (or merge into a
   * hole that can) instead of new pages above the high-water mark. Measured on mstress at 1
   * worker (a deterministic replay, 24 seeds): mean blowup 1.33 -> 1.30, at no measurable
   * cost (such fetches already take a span from the PageHeap).
   */
  releaseSpanBlocks(keep: number): void {
    const classes = this.spanClasses;
    for (let k = 0; k < classes.length; k++) {
      const c = classes[k]!;
      // Walked (at most two objects), as flushAll does: a depth word may have been overwritten.
      if (c !== keep && this.u32[this.heads + c] !== 0) this.releaseToCentral(c, this.recount(c), false);
    }
  }

  /** Returns every cached object to the central caches (detach, out-of-memory retry). */
  flushAll(viaTransfer: boolean): void {
    for (let c = 1; c < this.numClasses; c++) {
      // Walked, not read: the list must end empty even if a depth word was overwritten.
      const length = this.u32[this.heads + c] === 0 ? 0 : this.recount(c);
      if (length > 0) this.releaseToCentral(c, length, viaTransfer);
    }
    this.publish();
  }

  /** Moves the first n objects of list cls to the central cache, a batch at a time. */
  private releaseToCentral(cls: number, n: number, viaTransfer: boolean): void {
    const batch = this.batchOf[cls]!;
    while (n > 0) {
      const take = Math.min(n, batch);
      this.central.insertRange(cls, this.heads + cls, take, viaTransfer);
      this.taken(-take);
      n -= take;
    }
  }

  /** Publishes capacityBytes to the slot and the heap-wide total; re-reads the budget. */
  private publish(): void {
    const i32 = this.mem.i32;
    const w = this.slotWord + S.CACHED_BYTES;
    const delta = this.capacityBytes - i32[w]!;
    if (delta !== 0) {
      i32[w] = this.capacityBytes;
      Atomics.add(i32, H.TC_TOTAL_BYTES, delta);
    }
    this.updateBudget();
  }

  /** Per-thread budget: a fair share of the total budget, at most the per-thread cap. */
  private updateBudget(): void {
    const i32 = this.mem.i32;
    const attached = Math.max(1, Atomics.load(i32, H.ATTACHED));
    this.maxBytes = Math.min(i32[H.TC_THREAD_BUDGET]!, Math.floor(i32[H.TC_TOTAL_BUDGET]! / attached));
    i32[this.slotWord + S.MAX_BYTES] = this.maxBytes;
  }

  /** Throws for p, reached from prev on list cls (prev 0: p is the head), not being a cached object of the list. */
  private refuse(prev: number, p: number, cls: number): never {
    throw listCorruption(prev, p, cls, this.sizeOf[cls]!);
  }
}
