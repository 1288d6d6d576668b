/**
 * kvmap: a real client of the allocator — a shared hash map between workers, the
 * structure people ask SharedArrayBuffer libraries for. Keys and values are blocks of
 * the allocator under test; the same code runs on every allocator that offers
 * malloc/free. Each operation picks a random key and reads it (`read`%), writes it
 * (`write`%: a new value block of a size from a log-uniform `valMin`..`valMax` table,
 * replacing the old value, or inserting the key), or deletes it (the rest). Values freed
 * by a writer or a deleter were usually allocated by another worker (cross-thread frees).
 *
 * Shared data: `buckets` lock blocks (src/locks futex, LOCK_WORDS words each), then one
 * chain-head word per bucket. Heap blocks: an entry (24 B: next, key, key block, value
 * block, value length, value tag), its key block (16..48 B stamped with a tag derived
 * from the key) and its value block (stamped with a fresh tag per write).
 *
 * Locks and ownership: bucket b's lock guards its head word and every entry on its chain
 * (the entry words, and the right to verify or free its key and value blocks). A thread
 * holds at most one bucket lock and calls the allocator under it only to allocate a new
 * entry and key (lock order: bucket lock, then the allocator's own locks). Old values
 * and deleted entries are unlinked under the lock and verified and freed after it.
 * After the end barrier worker w frees every entry of the buckets b = w (mod workers).
 *
 * Metric: map operations per second (reads + writes + deletes of all workers).
 */
import { createLock, initLockBlock, LOCK_WORDS, type Lock } from '../../../src/locks/index.js';
import { shouldStop } from '../../kit/control.js';
import { NEW_WORKLOAD_COUNTS, sizeTable, SIZE_TABLE } from './mixes.js';
import { RAND_MASK, VerificationError, beginTimed, cleanupFree, endTimed, HeapView, newOutcome, TaggedBlocks, type WorkloadContext, type WorkloadDef, type WorkloadParams } from './common.js';
import { describeTag, stampTag, tagIntact } from '../../kit/stamp.js';

const ENTRY = 24;
const E_NEXT = 0;
const E_KEY = 1;
const E_KPTR = 2;
const E_VPTR = 3;
const E_VLEN = 4;
const E_VTAG = 5;

function headsBase(p: WorkloadParams): number {
  return p.buckets * LOCK_WORDS;
}
export function keyLen(k: number): number {
  return 16 + (k % 3) * 16;
}
export function keyTag(k: number): number {
  return (Math.imul(k + 1, 0x9e3779b1) | 1) ^ 0x2000;
}
export function bucketOf(k: number, buckets: number): number {
  return Math.imul(k, 0x85ebca6b) >>> 0 & (buckets - 1);
}

/** One worker's view of the map: its lock objects, the heap view and the hot-loop helpers. */
class MapView {
  readonly locks: Lock[];
  readonly h: HeapView;
  readonly hb: number;
  constructor(
    readonly ctx: WorkloadContext,
    readonly buckets: number,
  ) {
    this.h = new HeapView(ctx.adapter.buffer);
    this.hb = headsBase(ctx.params);
    this.locks = [];
    for (let b = 0; b < buckets; b++) this.locks.push(createLock('futex', { i32: ctx.data, word: b * LOCK_WORDS, ownerId: ctx.worker + 2 }));
  }

  /** the entry of key k in bucket b, or 0 (caller holds b's lock) */
  find(b: number, k: number): number {
    const hh = this.h.h;
    let e = this.ctx.data[this.hb + b];
    while (e !== 0 && hh[(e >>> 2) + E_KEY] !== k) e = hh[(e >>> 2) + E_NEXT];
    return e;
  }

  verifyEntry(e: number, k: number): void {
    const h = this.h;
    const w = e >>> 2;
    const kp = h.h[w + E_KPTR];
    if (!tagIntact(h.h, kp, keyLen(k), keyTag(k))) throw new VerificationError('kvmap', `key ${k}: ${describeTag(h.h, kp, keyLen(k), keyTag(k))}`);
    const vp = h.h[w + E_VPTR];
    const vl = h.h[w + E_VLEN];
    if (!tagIntact(h.h, vp, vl, h.h[w + E_VTAG])) throw new VerificationError('kvmap', `value of key ${k}: ${describeTag(h.h, vp, vl, h.h[w + E_VTAG])}`);
  }

  /** inserts key k with value (vp, vl, vt) into bucket b (caller holds the lock); 2 mallocs */
  insert(b: number, k: number, vp: number, vl: number, vt: number): void {
    const { adapter, data } = this.ctx;
    const hh = this.h.h;
    const e = adapter.malloc(ENTRY);
    const kp = adapter.malloc(keyLen(k));
    stampTag(this.h.h, kp, keyLen(k), keyTag(k));
    const w = e >>> 2;
    hh[w + E_NEXT] = data[this.hb + b];
    hh[w + E_KEY] = k;
    hh[w + E_KPTR] = kp;
    hh[w + E_VPTR] = vp;
    hh[w + E_VLEN] = vl;
    hh[w + E_VTAG] = vt;
    data[this.hb + b] = e;
  }

  /** unlinks key k's entry from bucket b (caller holds the lock); returns it or 0 */
  unlink(b: number, k: number): number {
    const hh = this.h.h;
    const d = this.ctx.data;
    let prev = 0;
    let e = d[this.hb + b];
    while (e !== 0 && hh[(e >>> 2) + E_KEY] !== k) {
      prev = e;
      e = hh[(e >>> 2) + E_NEXT];
    }
    if (e === 0) return 0;
    if (prev === 0) d[this.hb + b] = hh[(e >>> 2) + E_NEXT];
    else hh[(prev >>> 2) + E_NEXT] = hh[(e >>> 2) + E_NEXT];
    return e;
  }

  /** verifies and frees an unlinked entry and its blocks; returns the frees (3) */
  release(e: number, k: number, free: (p: number) => void): number {
    this.verifyEntry(e, k);
    const w = e >>> 2;
    free(this.h.h[w + E_VPTR]);
    free(this.h.h[w + E_KPTR]);
    free(e);
    return 3;
  }
}

/** The operation mix from a 16-bit draw: 0 read, 1 write, 2 delete. */
export function opOf(r16: number, p: WorkloadParams): number {
  const pct = (r16 * 100) >>> 16;
  return pct < p.read ? 0 : pct < p.read + p.write ? 1 : 2;
}

export const kvmap: WorkloadDef = {
  name: 'kvmap',
  description: 'shared hash map, per-bucket futex locks: 80% reads, 15% writes (values 16 B..4 KiB), 5% deletes over 16,384 keys',
  metric: { name: 'map ops/s', unit: 'reads+writes+deletes/s', higherIsBetter: true, compute: (t) => t.units / t.seconds },
  defaults: { buckets: 4096, keys: 16384, read: 80, write: 15, valMin: 16, valMax: 4096, prefill: 50 },
  quick: { keys: 8192, buckets: 2048 },
  small: { keys: 256, buckets: 64 },
  defaultWorkers: NEW_WORKLOAD_COUNTS,
  dataWords: (p) => headsBase(p) + p.buckets,
  initData(data, p) {
    if ((p.buckets & (p.buckets - 1)) !== 0) throw new RangeError(`kvmap.buckets ${p.buckets} must be a power of two`);
    for (let b = 0; b < p.buckets; b++) initLockBlock(data, b * LOCK_WORDS);
  },
  liveBytes: (p) => p.keys * (ENTRY + 48 + (p.valMax - p.valMin) / Math.log(p.valMax / p.valMin) + 48),
  rounds: () => 1,

  run(ctx: WorkloadContext) {
    const out = newOutcome();
    const { adapter, worker, workers, params: p, rand } = ctx;
    const m = new MapView(ctx, p.buckets);
    const h = m.h;
    const values = new TaggedBlocks(adapter, 'kvmap', worker);
    const ci = ctx.ctl.i32;
    const sizes = sizeTable(rand, worker * 733, 'loguniform', p.valMin, p.valMax);
    let si = 0;
    const prefillKeys = Math.floor((p.keys * p.prefill) / 100);
    for (let k = worker; k < prefillKeys; k += workers) {
      const b = bucketOf(k, p.buckets);
      const n = sizes[si++ & (SIZE_TABLE - 1)];
      const vp = values.malloc(n);
      m.locks[b].lock();
      m.insert(b, k, vp, n, values.tag);
      m.locks[b].unlock();
    }
    const free = (q: number): void => adapter.free(q);
    let ri = (worker * 40503) & RAND_MASK;
    let it = 0;
    let mallocs = 0;
    let frees = 0;
    const deadline = beginTimed(ctx, out);
    while (!shouldStop(ci, deadline, it++)) {
      const r = rand[ri];
      ri = (ri + 1) & RAND_MASK;
      const k = (r & 0xffff) % p.keys;
      const b = bucketOf(k, p.buckets);
      const op = opOf(r >>> 16, p);
      const lock = m.locks[b];
      if (op === 0) {
        lock.lock();
        const e = m.find(b, k);
        if (e !== 0) m.verifyEntry(e, k);
        lock.unlock();
      } else if (op === 1) {
        const n = sizes[si++ & (SIZE_TABLE - 1)];
        const vp = values.malloc(n);
        const tag = values.tag;
        mallocs++;
        lock.lock();
        const e = m.find(b, k);
        let oldP = 0;
        let oldN = 0;
        let oldT = 0;
        if (e === 0) {
          m.insert(b, k, vp, n, tag);
          mallocs += 2;
        } else {
          const w = e >>> 2;
          oldP = h.h[w + E_VPTR];
          oldN = h.h[w + E_VLEN];
          oldT = h.h[w + E_VTAG];
          h.h[w + E_VPTR] = vp;
          h.h[w + E_VLEN] = n;
          h.h[w + E_VTAG] = tag;
        }
        lock.unlock();
        if (oldP !== 0) {
          if (!tagIntact(h.h, oldP, oldN, oldT)) throw new VerificationError('kvmap', `old value of key ${k}: ${describeTag(h.h, oldP, oldN, oldT)}`);
          adapter.free(oldP);
          frees++;
        }
      } else {
        lock.lock();
        const e = m.unlink(b, k);
        lock.unlock();
        if (e !== 0) frees += m.release(e, k, free);
      }
    }
    endTimed(ctx, out, mallocs, frees, it - 1);
    const cleanup = (q: number): void => cleanupFree(ctx, q);
    for (let b = worker; b < p.buckets; b += workers) {
      let e = ctx.data[m.hb + b];
      while (e !== 0) {
        const next = h.h[(e >>> 2) + E_NEXT];
        m.release(e, h.h[(e >>> 2) + E_KEY], cleanup);
        e = next;
      }
      ctx.data[m.hb + b] = 0;
    }
    return out;
  },
};
