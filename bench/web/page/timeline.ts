/**
 * Over time: size-class occupancy (objects held by the program, per class) and tier events
 * per second, from heap pictures (heapPicture) sampled while a run goes on, drawn against
 * seconds since the run started (a true time axis: each point at the moment it was read);
 * and the tier locks' queues (holder, waiters, parked waiters) sampled live.
 *
 * Owns: its samples and the canvases and table it is given.
 *
 * What is approximate, and why: thread-cache hits are derived from counters that each
 * worker publishes on its slow paths (frees, objects taken; src/core/introspect.ts), so a
 * worker's hits show up in bursts, at its next refill or release; the CC/PH event counters
 * are exact but over-count a section that was rolled back. Lock samples are racy snapshots
 * taken every few milliseconds: a lock held for less than that is mostly missed, so
 * "held" is the fraction of samples that found it held, not a duration.
 */
import type { HeapPicture, LockView } from '../../../src/index.js';
import type { ChartSeries } from '../../kit/charts.js';
import { drawLineChart } from './livechart.js';

interface Sample {
  t: number;
  events: number[];
  inUse: Float64Array;
}

export const EVENT_NAMES = [
  'thread-cache hits (bursty)',
  'central refills from spans',
  'TransferCache batches out',
  'central releases to spans',
  'TransferCache batches in',
  'page-heap carves',
  'spans back to the PageHeap',
  'free-span merges',
  'heap growths',
] as const;

function eventsOf(p: HeapPicture): number[] {
  let refills = 0;
  let tHits = 0;
  let releases = 0;
  let tIns = 0;
  for (const c of p.classes) {
    refills += c.events.refills;
    tHits += c.events.transferHits;
    releases += c.events.releases;
    tIns += c.events.transferInserts;
  }
  return [p.totals.threadCacheHits, refills - tHits, tHits, releases - tIns, tIns, p.pageHeap.carves, p.pageHeap.returns, p.pageHeap.coalesces, p.growCount];
}

export interface TimelineSummary {
  label: string;
  points: number;
  /** seconds of the first and last sample */
  t0: number;
  t1: number;
  /** the last interval's rate of each event (per second), by EVENT_NAMES */
  lastRates: Record<string, number>;
  /** classes drawn in the occupancy chart */
  classes: number[];
}

export class Timeline {
  private samples: Sample[] = [];
  private label = '';
  private sizes: number[] = [];
  summary: TimelineSummary | null = null;

  constructor(
    private readonly events: HTMLCanvasElement,
    private readonly occupancy: HTMLCanvasElement,
    private readonly caption: HTMLElement,
  ) {}

  begin(label: string): void {
    this.samples = [];
    this.label = label;
  }

  sample(p: HeapPicture, t: number): void {
    this.sizes = p.classes.map((c) => c.size);
    this.samples.push({ t, events: eventsOf(p), inUse: Float64Array.from(p.classes, (c) => c.inUse) });
    this.draw();
  }

  private draw(): void {
    const s = this.samples;
    if (s.length < 2) return;
    const rates: ChartSeries[] = EVENT_NAMES.map((name, k) => ({
      name,
      points: s.slice(1).map((x, i) => [x.t, Math.max(0, (x.events[k]! - s[i]!.events[k]!) / Math.max(1e-3, x.t - s[i]!.t))] as const),
    }));
    drawLineChart(this.events, { title: `tier events per second · ${this.label}`, xLabel: 'seconds since the run started', yLabel: 'events/s (log)', series: rates, logY: true, legendWidth: 200 });
    // The 8 classes with the most objects held at any sample.
    const peak = new Float64Array(this.sizes.length);
    for (const x of s) for (let c = 1; c < x.inUse.length; c++) peak[c] = Math.max(peak[c]!, x.inUse[c]!);
    const top = [...peak.keys()].filter((c) => c > 0 && peak[c]! > 0).sort((a, b) => peak[b]! - peak[a]!).slice(0, 8);
    const occ: ChartSeries[] = top.map((c) => ({ name: `class ${c} (${this.sizes[c]} B)`, points: s.map((x) => [x.t, x.inUse[c]!] as const) }));
    drawLineChart(this.occupancy, { title: `objects held by the program, per size class · ${this.label}`, xLabel: 'seconds since the run started', yLabel: 'objects', series: occ, legendWidth: 150 });
    const last = rates.map((r) => r.points[r.points.length - 1]![1]);
    this.caption.textContent = `${this.label}: ${s.length} samples from t = ${s[0]!.t.toFixed(2)} s to ${s[s.length - 1]!.t.toFixed(2)} s; the 8 busiest of ${top.length} classes in use drawn`;
    this.summary = {
      label: this.label,
      points: s.length,
      t0: s[0]!.t,
      t1: s[s.length - 1]!.t,
      lastRates: Object.fromEntries(EVENT_NAMES.map((n, k) => [n, last[k]!])),
      classes: top,
    };
  }
}

/** One row of the live lock-queue table, summed over samples. */
export interface LockQueueRow {
  tier: string;
  kind: string;
  samples: number;
  /** samples that found it held */
  held: number;
  /** waiting threads summed over samples, and the most seen at once */
  waiting: number;
  maxWaiting: number;
  /** parked waiters summed over samples (-1: the kind does not say) */
  parked: number;
  lastHolder: number;
  waitersVisible: boolean;
}

/** Sums lock samples per tier (the central locks of all classes form one row, the busiest class named). */
export class LockQueues {
  rows = new Map<string, LockQueueRow>();
  private busiestClass = new Map<number, number>();

  reset(): void {
    this.rows.clear();
    this.busiestClass.clear();
  }

  /** Adds one sample of every lock; a tier with many locks (central: one per class) counts as held when any is. */
  add(views: readonly (Omit<LockView, 'tier'> & { tier: string })[]): void {
    const per = new Map<string, { kind: string; held: number; waiting: number; parked: number; visible: boolean }>();
    for (const v of views) {
      const a = per.get(v.tier) ?? { kind: v.kind, held: 0, waiting: 0, parked: v.parked < 0 ? -1 : 0, visible: v.waitersVisible };
      per.set(v.tier, a);
      if (v.holderThread !== 0) {
        a.held = v.holderThread;
        if (v.sizeClass !== undefined) this.busiestClass.set(v.sizeClass, (this.busiestClass.get(v.sizeClass) ?? 0) + 1);
      }
      a.waiting += v.waitingThreads.length;
      if (a.parked >= 0) a.parked += Math.max(0, v.parked);
    }
    for (const [tier, a] of per) {
      const r = this.rows.get(tier) ?? { tier, kind: a.kind, samples: 0, held: 0, waiting: 0, maxWaiting: 0, parked: a.parked < 0 ? -1 : 0, lastHolder: 0, waitersVisible: a.visible };
      this.rows.set(tier, r);
      r.samples++;
      if (a.held !== 0) {
        r.held++;
        r.lastHolder = a.held;
      }
      r.waiting += a.waiting;
      r.maxWaiting = Math.max(r.maxWaiting, a.waiting);
      if (r.parked >= 0) r.parked += a.parked;
    }
  }

  /** The class whose central lock was found held most often (0: none). */
  busiest(): number {
    let best = 0;
    let n = 0;
    for (const [c, k] of this.busiestClass) if (k > n) [best, n] = [c, k];
    return best;
  }
}

/** Fills the live lock-queue table from the summed samples. */
export function renderLockQueues(table: HTMLTableElement, q: LockQueues): void {
  const pct = (a: number, b: number): string => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : '–');
  const mean = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : '–');
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const h of ['lock', 'kind', 'samples', 'found held', 'waiting (mean / max)', 'parked (mean)', 'last holder']) {
    const th = document.createElement('th');
    th.textContent = h;
    head.appendChild(th);
  }
  const body = table.createTBody();
  const busiest = q.busiest();
  for (const r of q.rows.values()) {
    const tr = body.insertRow();
    const name = r.tier === 'central' && busiest > 0 ? `central (all classes; most often held: class ${busiest})` : r.tier;
    const cells = [
      name,
      r.kind,
      String(r.samples),
      pct(r.held, r.samples),
      r.waitersVisible ? `${mean(r.waiting, r.samples)} / ${r.maxWaiting}` : 'not recorded by this kind',
      r.parked < 0 ? (r.waitersVisible ? 'spinning or parked: not told apart' : '–') : mean(r.parked, r.samples),
      r.lastHolder ? `thread ${r.lastHolder}` : '–',
    ];
    cells.forEach((text, k) => {
      const td = tr.insertCell();
      td.textContent = text;
      td.className = k === 0 ? 'l' : 'n';
    });
  }
}
