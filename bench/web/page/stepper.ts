/**
 * Slow motion: the page drives one worker's mallocs and frees one call at a time (or at a
 * chosen rate) against a small heap of that worker's own, and draws each call's path
 * through the tiers (explain.ts) with what it touched, plus the span-state map after it.
 *
 * Owns: the stepping worker (one LabWorker, the only thread attached to its heap), the
 * list of blocks it holds, the call log, and the DOM of the slow-motion panel.
 *
 * The script of "next call" is seeded (the same sequence every time the panel is reset),
 * biased to a few size classes so that thread-cache hits, central refills, TransferCache
 * batches and page-heap carves all show up within a hundred calls.
 */
import type { HeapPicture } from '../../../src/index.js';
import { sizeClassOfRequest } from '../../../src/index.js';
import { explainCall, TIER_NAMES, type Explained, type StepCall, type Tier } from './explain.js';
import type { StepCounters } from './protocol.js';
import { LabWorker, newThreadId } from './runner.js';
import { SpanMap } from './spanmap.js';

/** One call as the page drew it, with the heap's own counters around it (for tests). */
export interface StepRecord {
  index: number;
  op: 'malloc' | 'free';
  size: number;
  sizeClass: number;
  kind: Explained['kind'];
  /** the tiers the explanation lit, in order */
  path: Tier[];
  /** the tiers lit in the drawn diagram, read back from the DOM */
  drawnPath: string[];
  before: StepCounters;
  after: StepCounters;
}

export interface StepState {
  ready: boolean;
  busy: boolean;
  calls: StepRecord[];
  live: number;
  threadId: number;
  error?: string;
}

const HEAP_BYTES = 1 << 20; // the smallest heap create() makes
const MAX_HEAP_BYTES = 16 << 20;
/** Sizes the script draws from: repeats make hits, a few classes make refills and carves. */
const SCRIPT_SIZES = [32, 32, 32, 32, 48, 48, 100, 100, 100, 256, 700, 2000, 2000, 9000, 30000];
const TIERS: Tier[] = ['threadcache', 'transfer', 'central', 'pageheap', 'grow'];
const TIER_GUIDE: Record<Tier, string> = {
  threadcache: 'per thread, no lock: one free list per size class',
  transfer: 'per size class: whole batches parked between thread caches',
  central: 'per size class, one spinlock: spans cut into objects',
  pageheap: 'one mutex: runs of free pages (spans), split and merged',
  grow: 'the commit watermark inside the buffer rises (like brk)',
};

/** mulberry32: a small seeded generator, so a reset replays the same script. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Stepper {
  readonly state: StepState = { ready: false, busy: false, calls: [], live: 0, threadId: 0 };
  private worker: LabWorker | null = null;
  private picture: HeapPicture | null = null;
  private counters: StepCounters | null = null;
  private blocks: { ptr: number; size: number }[] = [];
  private rand = prng(1);
  private stopRequested = false;
  private readonly map: SpanMap;

  constructor(
    private readonly url: string,
    tooltip: HTMLElement,
  ) {
    this.map = new SpanMap($('step-map'), $('step-map-caption'), tooltip);
    this.buildDiagram();
    $('step-malloc').addEventListener('click', () => void this.guard(() => this.call({ op: 'malloc', size: this.sizeInput() })));
    $('step-free').addEventListener('click', () => void this.guard(() => this.freeNewest()));
    $('step-burst').addEventListener('click', () => void this.guard(() => this.burst()));
    $('step-next').addEventListener('click', () => void this.guard(() => this.next()));
    $('step-play').addEventListener('click', () => void this.guard(() => this.play()));
    $('step-stop').addEventListener('click', () => (this.stopRequested = true));
    $('step-reset').addEventListener('click', () => void this.guard(() => this.reset()));
  }

  get mapSummary(): SpanMap['summary'] {
    return this.map.summary;
  }

  /** The slow-motion span map (for scripted tooltips). */
  get spanMap(): SpanMap {
    return this.map;
  }

  private sizeInput(): number {
    const n = Number($<HTMLInputElement>('step-size').value);
    if (!Number.isInteger(n) || n < 1 || n > MAX_HEAP_BYTES / 4) throw new RangeError(`size: an integer from 1 to ${MAX_HEAP_BYTES / 4} bytes`);
    return n;
  }

  private async guard(f: () => Promise<void>): Promise<void> {
    if (this.state.busy) return;
    this.state.busy = true;
    delete this.state.error;
    try {
      if (!this.state.ready) await this.reset();
      await f();
    } catch (e) {
      this.state.error = e instanceof Error ? e.message : String(e);
      $('step-call').textContent = `error: ${this.state.error}`;
      console.error(e);
    } finally {
      this.state.busy = false;
    }
  }

  /** A fresh worker and heap; the script starts over. */
  async reset(): Promise<void> {
    this.worker?.terminate();
    this.state.ready = false;
    this.state.calls = [];
    this.blocks = [];
    this.rand = prng(1);
    $('step-log').replaceChildren();
    this.worker = new LabWorker(this.url);
    this.state.threadId = newThreadId();
    const m = await this.worker.request({ type: 'step-open', threadId: this.state.threadId, size: HEAP_BYTES, maxSize: MAX_HEAP_BYTES }, 'stepped');
    this.picture = m.picture;
    this.counters = m.counters;
    this.state.ready = true;
    this.state.live = 0;
    this.light([], {});
    $('step-call').textContent = `a fresh heap of ${HEAP_BYTES >> 10} KiB (grows up to ${MAX_HEAP_BYTES >> 20} MiB), worker thread ${this.state.threadId} attached: make a call`;
    this.drawMap('after reset');
  }

  private async freeNewest(): Promise<void> {
    const b = this.blocks.pop();
    if (!b) throw new Error('no block to free: malloc first');
    await this.call({ op: 'free', size: b.size, ptr: b.ptr });
  }

  /**
   * `calls` mallocs of the size in the box, then as many frees, newest first: long enough
   * for the list to grow to whole batches, so frees send batches into the TransferCache and
   * the next mallocs of the class take them back out.
   */
  private async burst(n = Number($<HTMLInputElement>('step-count').value)): Promise<void> {
    if (!(Number.isInteger(n) && n >= 1 && n <= 10_000)) throw new RangeError('calls: 1 to 10000 for a burst');
    const size = this.sizeInput();
    const mine: { ptr: number; size: number }[] = [];
    for (let k = 0; k < n; k++) {
      await this.call({ op: 'malloc', size });
      mine.push(this.blocks.pop()!);
    }
    for (let k = n - 1; k >= 0; k--) await this.call({ op: 'free', size, ptr: mine[k]!.ptr });
  }

  /** The script's next call: a malloc of a size from the set, or a free of a random block. */
  private async next(): Promise<void> {
    const r = this.rand();
    if (this.blocks.length > 0 && r < 0.42) {
      const k = Math.floor(this.rand() * this.blocks.length);
      const [b] = this.blocks.splice(k, 1);
      await this.call({ op: 'free', size: b!.size, ptr: b!.ptr });
    } else {
      const size = this.rand() < 0.03 ? 300_000 : SCRIPT_SIZES[Math.floor(this.rand() * SCRIPT_SIZES.length)]!;
      await this.call({ op: 'malloc', size });
    }
  }

  /** Runs `count` script calls, `rate` per second (0: as fast as the worker answers). */
  async play(count = Number($<HTMLInputElement>('step-count').value), rate = Number($<HTMLInputElement>('step-rate').value)): Promise<void> {
    if (!(Number.isInteger(count) && count >= 1 && count <= 100_000)) throw new RangeError('calls: 1 to 100000');
    if (!(rate >= 0 && rate <= 1000)) throw new RangeError('rate: 0 (as fast as possible) to 1000 calls/s');
    this.stopRequested = false;
    for (let k = 0; k < count && !this.stopRequested; k++) {
      const t = performance.now();
      await this.next();
      if (rate > 0) await sleep(Math.max(0, 1000 / rate - (performance.now() - t)));
    }
  }

  private async call(c: { op: 'malloc'; size: number } | { op: 'free'; size: number; ptr: number }): Promise<void> {
    const before = this.picture!;
    const beforeCounters = this.counters!;
    const m = await this.worker!.request(c.op === 'malloc' ? { type: 'step', op: 'malloc', size: c.size } : { type: 'step', op: 'free', ptr: c.ptr }, 'stepped');
    const call: StepCall = { op: c.op, size: c.size, ptr: c.op === 'malloc' ? m.ptr : c.ptr };
    if (c.op === 'malloc') this.blocks.push({ ptr: m.ptr, size: c.size });
    this.picture = m.picture;
    this.counters = m.counters;
    this.state.live = this.blocks.length;
    const cls = sizeClassOfRequest(before.pageSize, c.size);
    const ex = explainCall(call, cls, this.state.threadId, before, m.picture);
    const drawnPath = this.light(ex.path, ex.notes);
    const index = this.state.calls.length + 1;
    const rec: StepRecord = { index, op: c.op, size: c.size, sizeClass: cls, kind: ex.kind, path: ex.path, drawnPath, before: beforeCounters, after: m.counters };
    this.state.calls.push(rec);
    const what = `${c.op}(${c.op === 'malloc' ? c.size : call.ptr})` + (c.op === 'malloc' ? ` → ${call.ptr}` : ` (a ${c.size} B block)`);
    const cl = cls > 0 ? `class ${cls} (${ex.objectSize} B objects)` : 'large';
    $('step-call').textContent = `call ${index}: ${what}, ${cl}: ${ex.kind}; locks taken: central ${ex.locks.central}, page heap ${ex.locks.pageHeap}`;
    this.log(rec, what, cl, ex);
    this.drawMap(`after call ${index}, ${what}`);
  }

  private drawMap(when: string): void {
    this.map.draw(this.picture!, `slow-motion heap (worker thread ${this.state.threadId}), ${when}`, { maxHeight: 160 });
  }

  private buildDiagram(): void {
    const d = $('step-diagram');
    d.replaceChildren(
      ...TIERS.map((t) => {
        const box = document.createElement('div');
        box.className = 'tier';
        box.dataset['tier'] = t;
        const name = document.createElement('b');
        name.textContent = TIER_NAMES[t];
        const guide = document.createElement('small');
        guide.textContent = TIER_GUIDE[t];
        const note = document.createElement('p');
        note.className = 'note';
        box.append(name, guide, note);
        return box;
      }),
    );
  }

  /** Lights the tiers of the path with their notes; returns the lit tiers as drawn. */
  private light(path: readonly Tier[], notes: Explained['notes']): string[] {
    const boxes = [...document.querySelectorAll<HTMLElement>('#step-diagram .tier')];
    for (const b of boxes) {
      const t = b.dataset['tier'] as Tier;
      const k = path.indexOf(t);
      b.classList.toggle('on', k >= 0);
      b.dataset['order'] = k >= 0 ? String(k + 1) : '';
      b.querySelector('.note')!.textContent = k >= 0 ? `${k + 1}. ${notes[t] ?? ''}` : '';
    }
    return boxes
      .filter((b) => b.classList.contains('on'))
      .sort((a, b) => Number(a.dataset['order']) - Number(b.dataset['order']))
      .map((b) => b.dataset['tier']!);
  }

  private log(rec: StepRecord, what: string, cl: string, ex: Explained): void {
    const tr = document.createElement('tr');
    tr.dataset['path'] = rec.drawnPath.join(',');
    tr.dataset['kind'] = rec.kind;
    const cells = [String(rec.index), what, cl, rec.kind, rec.drawnPath.map((t) => TIER_NAMES[t as Tier]).join(' → '), `${ex.listBefore} → ${ex.listAfter}`];
    for (const text of cells) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.appendChild(td);
    }
    const body = $('step-log');
    body.prepend(tr);
    while (body.children.length > 200) body.lastElementChild!.remove();
  }
}
