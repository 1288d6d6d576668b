/**
 * The stress tester's audit (main thread, workers idle): every block a table or the
 * hand-off array names must be allocated, held once, apart from every other block and
 * stamped intact, and the heap must hold no block nobody has. Also frees what the tables
 * hold, and finds the blocks a killed worker was working on.
 */
import { SharedHeap, SMALL_MAX } from '../../src/index.js';
import { Intent, ownerName, statsBase, tokenGen, tokenOwner, tokenPtr, WS, type ControlViews } from './shared.js';
import { stampBytes, verifyStamp } from '../kit/stamp.js';
import type { StressFailure } from './types.js';

export function sizeClassName(heap: SharedHeap, usable: number | undefined): string {
  if (usable === undefined) return 'unknown';
  if (usable > SMALL_MAX) return `large (${usable / heap.layout.pageSize} pages)`;
  return `class ${heap.sizeClasses.classOf[(usable + 15) >>> 4]} (${usable} B)`;
}

export interface Held {
  token: bigint;
  p: number;
  where: string;
  usable: number;
}

/**
 * Audit with the workers idle: every held block allocated, unique, disjoint, intact; the
 * heap's count of objects in use equals what we hold (+ the control block).
 */
export function audit(
  heap: SharedHeap,
  cv: ControlViews,
  salt: number,
  round: number,
  failures: StressFailure[],
  /** blocks the heap may hold that nobody has (lost to killed workers) */
  untrackedAllowed = 0,
): { blocks: number; bytes: number; untracked: number } {
  const seenBy = `the audit of round ${round}`;
  const held: Held[] = [];
  const add = (token: bigint, where: string): void => {
    const p = tokenPtr(token);
    let usable: number;
    try {
      usable = heap.usableSize(p);
    } catch (e) {
      failures.push({
        kind: 'lost',
        pointer: p,
        sizeClass: 'unknown',
        allocatedBy: `${ownerName(tokenOwner(token))} (gen ${tokenGen(token)})`,
        seenBy,
        detail: `held in ${where}, but the heap does not know it as allocated: ${(e as Error).message}`,
      });
      return;
    }
    held.push({ token, p, where, usable });
  };
  for (const h of heldTokens(cv)) add(h.token, h.where);
  held.sort((a, b) => a.p - b.p);
  const u32 = new Uint32Array(heap.buffer, 0, heap.buffer.byteLength >>> 2);
  let bytes = 0;
  for (let i = 0; i < held.length; i++) {
    const h = held[i]!;
    bytes += h.usable;
    const by = `${ownerName(tokenOwner(h.token))} (gen ${tokenGen(h.token)})`;
    const prev = i > 0 ? held[i - 1]! : undefined;
    if (prev !== undefined && prev.p === h.p) {
      failures.push({
        kind: 'duplicate',
        pointer: h.p,
        sizeClass: sizeClassName(heap, h.usable),
        allocatedBy: `${by} and ${ownerName(tokenOwner(prev.token))} (gen ${tokenGen(prev.token)})`,
        seenBy,
        detail: `the same block is held in ${prev.where} and in ${h.where}`,
      });
      continue;
    }
    if (prev !== undefined && prev.p + prev.usable > h.p) {
      failures.push({
        kind: 'overlap',
        pointer: h.p,
        sizeClass: sizeClassName(heap, h.usable),
        allocatedBy: `${by}; the other by ${ownerName(tokenOwner(prev.token))} (gen ${tokenGen(prev.token)})`,
        seenBy,
        detail: `[${h.p}, +${h.usable}) in ${h.where} overlaps [${prev.p}, +${prev.usable}) in ${prev.where}`,
      });
    }
    const requested = u32[(h.p >>> 2) + 3]!;
    const bad =
      requested < 1 || stampBytes(requested) > h.usable
        ? `requested-size word ${requested} is not in [1, ${h.usable}]`
        : verifyStamp(u32, h.p, { p: h.p, gen: tokenGen(h.token), owner: tokenOwner(h.token), requested }, salt);
    if (bad !== null) {
      failures.push({ kind: 'corrupt', pointer: h.p, sizeClass: sizeClassName(heap, h.usable), allocatedBy: by, seenBy, detail: `held in ${h.where}: ${bad}` });
    }
  }
  const s = heap.stats();
  const untracked = s.inUseObjects - held.length - 1;
  if (untracked < 0 || untracked > untrackedAllowed) {
    failures.push({
      kind: 'leak',
      seenBy,
      detail:
        `the heap counts ${s.inUseObjects} objects in use, the workers hold ${held.length} blocks (+1 control block)` +
        (untrackedAllowed > 0 ? `; at most ${untrackedAllowed} may be lost to killed workers` : ''),
    });
  }
  try {
    heap.check();
  } catch (e) {
    failures.push({ kind: 'check', seenBy, detail: `check() with ${held.length} blocks live: ${(e as Error).message}` });
  }
  return { blocks: held.length, bytes, untracked };
}

/** Every block named by a LOCAL table or the HAND-OFF array, with where it is. */
export function heldTokens(cv: ControlViews): { token: bigint; where: string }[] {
  const L = cv.layout;
  const out: { token: bigint; where: string }[] = [];
  for (let w = 0; w < L.workers; w++) {
    for (let k = 0; k < L.localCap; k++) {
      const t = cv.local[w * L.localCap + k]!;
      if (t !== 0n) out.push({ token: t, where: `the table of worker ${w}` });
    }
  }
  for (let k = 0; k < L.handoffSlots; k++) {
    const t = cv.handoff[k]!;
    if (t !== 0n) out.push({ token: t, where: `hand-off slot ${k}` });
  }
  return out;
}

/**
 * Main thread, workers idle: verifies and frees every block named by a LOCAL table or the
 * HAND-OFF array, emptying them. Returns the problems (corrupt or lost blocks).
 */
export function freeHeld(heap: SharedHeap, cv: ControlViews, salt: number, seenBy: string): StressFailure[] {
  const failures: StressFailure[] = [];
  for (const { token, where } of heldTokens(cv)) {
    const p = tokenPtr(token);
    const by = `${ownerName(tokenOwner(token))} (gen ${tokenGen(token)})`;
    let usable: number;
    try {
      usable = heap.usableSize(p);
    } catch (e) {
      failures.push({ kind: 'lost', pointer: p, sizeClass: 'unknown', allocatedBy: by, seenBy, detail: `held in ${where}: ${(e as Error).message}` });
      continue;
    }
    const u32 = new Uint32Array(heap.buffer, 0, heap.buffer.byteLength >>> 2);
    const requested = u32[(p >>> 2) + 3]!;
    const bad =
      requested < 1 || stampBytes(requested) > usable
        ? `requested-size word ${requested} is not in [1, ${usable}]`
        : verifyStamp(u32, p, { p, gen: tokenGen(token), owner: tokenOwner(token), requested }, salt);
    if (bad !== null) {
      failures.push({ kind: 'corrupt', pointer: p, sizeClass: sizeClassName(heap, usable), allocatedBy: by, seenBy, detail: `held in ${where}: ${bad}` });
      continue;
    }
    heap.free(p);
  }
  cv.local.fill(0n);
  cv.handoff.fill(0n);
  return failures;
}

/**
 * After worker w died (and heap.recover() ran), with every other worker idle: the blocks
 * its interrupted operation was about that are still allocated and held by nobody (a
 * malloc that returned, a free or hand-off that had not happened yet, a realloc's old or
 * new block). The worker writes its intent before every change to its table, so at most
 * one block of a killed worker can be lost to the bookkeeping: one that malloc (or
 * realloc) returned before the worker could record it.
 */
export function inFlightBlocks(heap: SharedHeap, cv: ControlViews, w: number, salt: number): number[] {
  const f = cv.f64;
  const b = statsBase(w);
  const op = f[b + WS.INTENT_OP]!;
  if (op === Intent.NONE) return [];
  const held = new Set(heldTokens(cv).map((h) => tokenPtr(h.token)));
  const allocated = (p: number): boolean => {
    if (p === 0 || held.has(p)) return false;
    try {
      heap.usableSize(p);
      return true;
    } catch {
      return false;
    }
  };
  const out: number[] = [];
  const ptr = f[b + WS.INTENT_PTR]!;
  const token = BigInt(f[b + WS.INTENT_TOKEN_LO]!) | (BigInt(f[b + WS.INTENT_TOKEN_HI]!) << 32n);
  const tp = token === 0n ? 0 : tokenPtr(token);
  // The block the op started from: still ours if still allocated with our stamp.
  if (tp !== 0 && allocated(tp)) {
    const u32 = new Uint32Array(heap.buffer, 0, heap.buffer.byteLength >>> 2);
    const requested = u32[(tp >>> 2) + 3]!;
    const s = { p: tp, gen: tokenGen(token), owner: tokenOwner(token), requested };
    if (requested >= 1 && stampBytes(requested) <= heap.usableSize(tp) && verifyStamp(u32, tp, s, salt) === null) out.push(tp);
  }
  // A block malloc or realloc returned: allocated, and nobody else can know it.
  if ((op === Intent.MALLOC || op === Intent.REALLOC) && ptr !== tp && allocated(ptr)) out.push(ptr);
  return out;
}

/** Runs the stress test; never throws for a heap problem (see `failures`). */
