/**
 * Slow motion's explanation of one malloc or free: which tiers it went through and what it
 * touched there, read from two pictures of the real heap (heapPicture, src/core/introspect.ts)
 * taken by the stepping worker just before and just after the call. Nothing is simulated:
 * every line comes from a difference between the two pictures (list lengths, TransferCache
 * batches, central lists, the tiers' event counters, span records, the commit watermark,
 * the thread's lock acquisition counts).
 *
 * Exact because the stepping worker is the only thread attached to its heap while it steps.
 *
 * Owns nothing; pure functions (tested in Node and drawn by stepper.ts).
 */
import type { ClassView, HeapPicture, SpanView } from '../../../src/index.js';

export type Tier = 'threadcache' | 'transfer' | 'central' | 'pageheap' | 'grow';

export const TIER_NAMES: Record<Tier, string> = {
  threadcache: 'ThreadCache',
  transfer: 'TransferCache',
  central: 'CentralCache',
  pageheap: 'PageHeap',
  grow: 'heap growth',
};

export interface StepCall {
  op: 'malloc' | 'free';
  /** requested bytes (malloc) or the freed block's request (free) */
  size: number;
  /** the pointer returned (malloc) or freed (free) */
  ptr: number;
}

export interface Explained {
  call: StepCall;
  sizeClass: number;
  objectSize: number;
  /** tiers the call went through, in order (what the diagram lights up) */
  path: Tier[];
  /** what happened at each tier of the path */
  notes: Partial<Record<Tier, string>>;
  /** one word for the call's story */
  kind: 'thread-cache hit' | 'central refill' | 'page-heap carve' | 'cached free' | 'release to central' | 'span returned' | 'large malloc' | 'large free';
  locks: { central: number; pageHeap: number };
  listBefore: number;
  listAfter: number;
}

function classEvents(before: HeapPicture, after: HeapPicture, c: number): ClassView['events'] {
  const a = after.classes[c]!.events;
  const b = before.classes[c]!.events;
  return {
    refills: a.refills - b.refills,
    transferHits: a.transferHits - b.transferHits,
    releases: a.releases - b.releases,
    transferInserts: a.transferInserts - b.transferInserts,
    populates: a.populates - b.populates,
    spansEmptied: a.spansEmptied - b.spansEmptied,
  };
}

const spanText = (s: SpanView): string => `pages ${s.start}–${s.start + s.pages - 1} (${s.pages} page${s.pages > 1 ? 's' : ''})`;

/** Spans of `after` that were not in `before` with the same start, length and kind family. */
function newSpans(before: HeapPicture, after: HeapPicture, pred: (s: SpanView) => boolean): SpanView[] {
  const old = new Map(before.spans.map((s) => [s.start, s]));
  return after.spans.filter((s) => {
    const o = old.get(s.start);
    return pred(s) && (o === undefined || o.pages !== s.pages || o.sizeClass !== s.sizeClass || (o.kind === 'free') !== (s.kind === 'free'));
  });
}

/** Describes the PageHeap's part: which free span each new span was carved from, growth, returns and merges. */
function pageHeapNotes(before: HeapPicture, after: HeapPicture, path: Tier[], notes: Explained['notes'], lockTaken: number): void {
  const carves = after.pageHeap.carves - before.pageHeap.carves;
  const returns = after.pageHeap.returns - before.pageHeap.returns;
  const merges = after.pageHeap.coalesces - before.pageHeap.coalesces;
  const grew = after.committedPages - before.committedPages;
  const lines: string[] = [];
  if (carves > 0) {
    for (const s of newSpans(before, after, (x) => x.kind !== 'free')) {
      const from = before.spans.find((f) => f.kind === 'free' && f.start <= s.start && s.start < f.start + f.pages);
      const what = s.sizeClass > 0 ? `a span for class ${s.sizeClass}` : 'a large block';
      if (!from) {
        lines.push(`carved ${what}, ${spanText(s)}, from pages the heap just grew`);
        continue;
      }
      // A free span ending at the old watermark merges with the pages growth adds.
      const extended = grew > 0 && from.start + from.pages === before.committedPages;
      const pages = extended ? after.committedPages - from.start : from.pages;
      lines.push(
        `carved ${what}, ${spanText(s)}, from free span ${spanText(from)}` +
          (extended ? `, which the growth extended to ${pages} pages` : '') +
          (pages > s.pages ? `; ${pages - s.pages} page(s) stay free` : ''),
      );
    }
  }
  if (returns > 0) {
    const freed = newSpans(before, after, (x) => x.kind === 'free');
    lines.push(`took back ${returns} span(s)` + (merges > 0 ? `, merged with ${merges} free neighbour(s)` : '') + (freed.length ? ` into free span ${spanText(freed[0]!)}` : ''));
  }
  if (lines.length === 0) return;
  path.push('pageheap');
  notes.pageheap = `${lines.join('; ')}; PageHeap lock taken ${lockTaken}×`;
  if (grew > 0) {
    path.push('grow');
    notes.grow = `no free span was long enough: the commit watermark rose, committed pages ${before.committedPages} → ${after.committedPages} (+${grew}, growth #${after.growCount})`;
  }
}

/**
 * Explains one call of thread `threadId` from pictures taken just before and just after it.
 * The picture's class 0 stands for large objects (no size class).
 */
export function explainCall(call: StepCall, sizeClass: number, threadId: number, before: HeapPicture, after: HeapPicture): Explained {
  const me0 = before.threads.find((t) => t.threadId === threadId);
  const me1 = after.threads.find((t) => t.threadId === threadId);
  if (!me0 || !me1) throw new Error(`thread ${threadId} is not attached to the stepped heap`);
  const c = sizeClass;
  const cls = after.classes[c]!;
  const l0 = c > 0 ? me0.listLengths[c]! : 0;
  const l1 = c > 0 ? me1.listLengths[c]! : 0;
  const locks = {
    central: me1.lockAcquisitions.central - me0.lockAcquisitions.central,
    pageHeap: me1.lockAcquisitions.pageHeap - me0.lockAcquisitions.pageHeap,
  };
  const path: Tier[] = [];
  const notes: Explained['notes'] = {};
  const base = { call, sizeClass: c, objectSize: c > 0 ? cls.size : call.size, locks, listBefore: l0, listAfter: l1 };
  if (c === 0) {
    // Large blocks bypass the caches: the PageHeap serves them as spans of their own.
    pageHeapNotes(before, after, path, notes, locks.pageHeap);
    return { ...base, path, notes, kind: call.op === 'malloc' ? 'large malloc' : 'large free' };
  }
  const ev = classEvents(before, after, c);
  const b0 = before.classes[c]!;
  if (call.op === 'malloc') {
    path.push('threadcache');
    if (l0 > 0) {
      notes.threadcache = `hit: popped the head of the class ${c} list (${cls.size} B objects); list length ${l0} → ${l1}, no lock taken`;
      return { ...base, path, notes, kind: 'thread-cache hit' };
    }
    const got = l1 + 1;
    notes.threadcache = `miss: the class ${c} list was empty; refilled with ${got} object(s) (max length now ${me1.maxLengths[c]}), took one, list length ${l0} → ${l1}`;
    if (ev.transferHits > 0) {
      path.push('transfer');
      notes.transfer = `a whole batch of ${got} objects moved out of the class ${c} TransferCache (batches ${b0.transferBatches} → ${cls.transferBatches}), under the class ${c} central lock`;
    } else {
      path.push('central');
      const fresh = ev.populates > 0 ? ' (its list was empty: it first asked the PageHeap for a fresh span and cut it into objects)' : '';
      notes.central =
        `took ${got} object(s) off spans on the class ${c} central list${fresh}; objects free in spans ${b0.freeInSpans} → ${cls.freeInSpans}, ` +
        `spans ${b0.spans} → ${cls.spans}; class ${c} lock taken ${locks.central}×`;
    }
    if (ev.populates > 0) pageHeapNotes(before, after, path, notes, locks.pageHeap);
    return { ...base, path, notes, kind: ev.populates > 0 ? 'page-heap carve' : 'central refill' };
  }
  path.push('threadcache');
  if (ev.releases === 0) {
    notes.threadcache = `pushed onto the class ${c} list (${cls.size} B objects); list length ${l0} → ${l1} (max ${me1.maxLengths[c]}), no lock taken`;
    return { ...base, path, notes, kind: 'cached free' };
  }
  const moved = l0 + 1 - l1;
  notes.threadcache = `pushed, and the list grew past its max length (${me0.maxLengths[c]}): released ${moved} object(s) to the central tier; list length ${l0} → ${l1}`;
  if (ev.transferInserts > 0) {
    path.push('transfer');
    notes.transfer = `the released batch of ${moved} objects went into the class ${c} TransferCache as a whole (batches ${b0.transferBatches} → ${cls.transferBatches})`;
  } else {
    path.push('central');
    notes.central = `walked ${moved} object(s) back onto their spans' free lists; objects free in spans ${b0.freeInSpans} → ${cls.freeInSpans}; class ${c} lock taken ${locks.central}×`;
  }
  if (ev.spansEmptied > 0) {
    notes.central = (notes.central ?? notes.transfer ?? '') + `; ${ev.spansEmptied} span(s) had every object back and left the class`;
    if (!path.includes('central')) path.push('central');
    pageHeapNotes(before, after, path, notes, locks.pageHeap);
    return { ...base, path, notes, kind: 'span returned' };
  }
  return { ...base, path, notes, kind: 'release to central' };
}
