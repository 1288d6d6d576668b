/**
 * The span-state map: every page of a heap's committed pages in a grid, each span drawn
 * once over its pages in the colour of its state (heapPicture's SpanKind), with its first
 * page marked, a legend, and a tooltip naming the span under the pointer (hover or tap).
 *
 * Owns: the canvas, legend and tooltip elements it is given. Reads only a HeapPicture
 * (src/core/introspect.ts); every drawing says which run and moment it shows (`stamp`).
 */
import type { HeapPicture, SpanKind, SpanView } from '../../../src/index.js';
import { fmtBytes } from './format.js';
import { prepareCanvas } from './livechart.js';

export const SPAN_COLORS: Record<SpanKind | 'unknown', string> = {
  'in-use': '#2f5d9e',
  central: '#79b0e0',
  transfer: '#9b5fc0',
  free: '#dfeadf',
  large: '#d9480f',
  unknown: '#111111',
};
const METADATA_COLOR = '#8a8f98';

export const SPAN_LABELS: Record<SpanKind, string> = {
  'in-use': 'small span, every object out (held by the program or cached)',
  central: 'small span on its central list (has free objects)',
  transfer: 'small span with objects in a TransferCache batch',
  free: 'free pages in the PageHeap',
  large: 'large object (> 256 KiB), straight from the PageHeap',
};

/** What a test or the console can read of the last drawing. */
export interface SpanMapSummary {
  stamp: string;
  committedPages: number;
  metadataPages: number;
  /** pages on the map: the committed pages, plus the metadata pages when they are drawn */
  totalPages: number;
  /** pages painted exactly once (every one of totalPages, unless the walk met a racy record) */
  drawnOncePages: number;
  exact: boolean;
  pageSize: number;
  /** pages by state, as the old page map counted them */
  counts: { metadata: number; free: number; small: number; large: number; unknown: number };
  spans: { free: number; small: number; large: number };
  /** spans drawn, each once */
  spansDrawn: number;
  pagesDrawn: number;
  byKind: Record<SpanKind, number>;
  /** size classes with at least one small span */
  classes: number[];
}

/** The tooltip's text for one span. */
export function describeSpan(s: SpanView, pageSize: number): string {
  const head = `pages ${s.start}–${s.start + s.pages - 1} (${s.pages} × ${pageSize / 1024} KiB = ${fmtBytes(s.pages * pageSize)})`;
  if (s.kind === 'free') return `${head}\nfree span in the PageHeap\nowner: PageHeap (its lock)`;
  if (s.kind === 'large') return `${head}\nlarge object of ${fmtBytes(s.objectSize)}\nowner: the program (freed straight back to the PageHeap)`;
  return [
    head,
    `size class ${s.sizeClass}: ${s.objectSize} B objects, ${s.objectsPerSpan} per span`,
    `state: ${SPAN_LABELS[s.kind]}`,
    `on the span's free list: ${s.freeInSpan}`,
    `in TransferCache batches: ${s.inTransfer}`,
    `in thread caches: ${s.inThreadCaches}`,
    `held by the program: ${s.heldByApp}`,
    `owner: CentralCache of class ${s.sizeClass} (its lock) for the span and its free list`,
  ].join('\n');
}

export class SpanMap {
  private picture: HeapPicture | null = null;
  private cell = 8;
  private cols = 1;
  /** page index -> index in picture.spans (-1: unknown) */
  private pageSpan = new Int32Array(0);
  /** cells before page 0: the metadata pages, when drawn */
  private offset = 0;
  summary: SpanMapSummary | null = null;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly caption: HTMLElement,
    private readonly tooltip: HTMLElement,
  ) {
    const show = (x: number, y: number): void => void this.hover(x, y);
    canvas.addEventListener('mousemove', (e) => show(e.offsetX, e.offsetY));
    canvas.addEventListener('click', (e) => show(e.offsetX, e.offsetY));
    canvas.addEventListener('mouseleave', () => (this.tooltip.hidden = true));
  }

  /**
   * Draws picture p; `stamp` says which run and moment it shows. With `metadata`, the
   * metadata pages in front of the heap's pages are drawn first, as one grey run.
   */
  draw(p: HeapPicture, stamp: string, o: { maxHeight?: number; metadata?: boolean } = {}): SpanMapSummary {
    const maxHeight = o.maxHeight ?? 260;
    this.picture = p;
    this.offset = o.metadata ? p.metadataPages : 0;
    const total = this.offset + p.committedPages;
    const width = this.canvas.clientWidth || 560;
    let cell = Math.max(2, Math.min(18, Math.floor(Math.sqrt((width * maxHeight) / Math.max(1, total)))));
    const rows = Math.ceil(total / Math.max(1, Math.floor(width / cell)));
    if (rows * cell > maxHeight * 2) cell = Math.max(1, Math.floor((maxHeight * 2) / rows));
    this.cell = cell;
    this.cols = Math.max(1, Math.floor(width / cell));
    const g = prepareCanvas(this.canvas, Math.ceil(total / this.cols) * cell, width);
    this.pageSpan = new Int32Array(p.committedPages).fill(-1);
    const draws = new Uint8Array(total);
    const gap = cell >= 6 ? 1 : 0;
    const paint = (cellIndex: number): void => {
      g.fillRect((cellIndex % this.cols) * cell, Math.floor(cellIndex / this.cols) * cell, cell - gap, cell - gap);
      draws[cellIndex]++;
    };
    g.fillStyle = METADATA_COLOR;
    for (let i = 0; i < this.offset; i++) paint(i);
    const byKind: Record<SpanKind, number> = { 'in-use': 0, central: 0, transfer: 0, free: 0, large: 0 };
    const counts = { metadata: this.offset, free: 0, small: 0, large: 0, unknown: 0 };
    const spans = { free: 0, small: 0, large: 0 };
    const classes = new Set<number>();
    p.spans.forEach((s, k) => {
      byKind[s.kind]++;
      const family = s.kind === 'free' ? 'free' : s.kind === 'large' ? 'large' : 'small';
      counts[family] += s.pages;
      spans[family]++;
      if (s.sizeClass > 0) classes.add(s.sizeClass);
      g.fillStyle = SPAN_COLORS[s.kind];
      for (let i = s.start; i < s.start + s.pages; i++) {
        this.pageSpan[i] = k;
        paint(this.offset + i);
      }
      // The span's first page carries a dark mark: where one span ends and the next begins.
      if (cell >= 5) {
        const c = this.offset + s.start;
        g.fillStyle = s.kind === 'free' ? '#8aa68a' : '#0b1b33';
        g.fillRect((c % this.cols) * cell, Math.floor(c / this.cols) * cell, Math.max(1, Math.floor(cell / 4)), cell - gap);
      }
    });
    g.fillStyle = SPAN_COLORS.unknown;
    for (let i = 0; i < p.committedPages; i++) {
      if (this.pageSpan[i] === -1) {
        paint(this.offset + i);
        counts.unknown++;
      }
    }
    let once = 0;
    for (const d of draws) if (d === 1) once++;
    this.caption.textContent =
      `${stamp}. ${p.committedPages} heap pages of ${p.pageSize / 1024} KiB in ${p.spans.length} spans ` +
      `(in use ${byKind['in-use']}, on central lists ${byKind.central}, with TransferCache objects ${byKind.transfer}, free ${byKind.free}, large ${byKind.large})` +
      (o.metadata ? `, after ${p.metadataPages} pages of metadata (grey)` : `; the ${p.metadataPages} metadata pages before them are not drawn`) +
      (p.exact ? '' : `; ${p.unknownPages} page(s) were changing while read (black)`);
    this.summary = {
      stamp,
      committedPages: p.committedPages,
      metadataPages: p.metadataPages,
      totalPages: total,
      drawnOncePages: once,
      exact: p.exact,
      pageSize: p.pageSize,
      counts,
      spans,
      spansDrawn: p.spans.length,
      pagesDrawn: once,
      byKind,
      classes: [...classes].sort((a, b) => a - b),
    };
    return this.summary;
  }

  /** Shows the tooltip for the span under canvas point (x, y); returns its text ('' if none). */
  hover(x: number, y: number): string {
    const p = this.picture;
    const col = Math.floor(x / this.cell);
    const page = Math.floor(y / this.cell) * this.cols + col - this.offset;
    const k = p && col < this.cols && page >= 0 && page < this.pageSpan.length ? this.pageSpan[page]! : -1;
    if (!p || k < 0) {
      this.tooltip.hidden = true;
      return '';
    }
    const text = describeSpan(p.spans[k]!, p.pageSize);
    this.tooltip.textContent = text;
    this.tooltip.hidden = false;
    const box = this.canvas.getBoundingClientRect();
    this.tooltip.style.left = `${Math.round(box.left + window.scrollX + Math.min(x + 14, box.width - 260))}px`;
    this.tooltip.style.top = `${Math.round(box.top + window.scrollY + y + 14)}px`;
    return text;
  }

  /** Canvas coordinates of the first span of `kind` with the most pages (null: none). */
  pointOfKind(kind: SpanKind): { x: number; y: number } | null {
    const spans = this.picture?.spans ?? [];
    let best = -1;
    spans.forEach((s, k) => {
      if (s.kind === kind && (best < 0 || s.pages > spans[best]!.pages)) best = k;
    });
    return best < 0 ? null : this.pointOfSpan(best);
  }

  /** Canvas coordinates of the middle of span k's first page (for scripted tooltips). */
  pointOfSpan(k: number): { x: number; y: number } | null {
    const s = this.picture?.spans[k];
    if (!s) return null;
    const c = this.offset + s.start;
    return { x: (c % this.cols) * this.cell + this.cell / 2, y: Math.floor(c / this.cols) * this.cell + this.cell / 2 };
  }
}

/** Fills a legend element with the span states' colours and words. */
export function drawSpanLegend(el: HTMLElement, metadata = false): void {
  const items: [string, string][] = (Object.keys(SPAN_LABELS) as SpanKind[]).map((k) => [SPAN_COLORS[k], SPAN_LABELS[k]]);
  if (metadata) items.unshift([METADATA_COLOR, 'metadata (header, tier words, thread slots, span records, PageMap)']);
  items.push(['#0b1b33', 'dark edge: first page of a span']);
  el.replaceChildren(
    ...items.map(([color, label]) => {
      const s = document.createElement('span');
      const sw = document.createElement('i');
      sw.style.background = color;
      s.append(sw, label);
      return s;
    }),
  );
}
