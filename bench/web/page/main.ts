/**
 * The web lab page: controls, the live panels (throughput over time, lock figures per
 * tier, heap map, thread-cache occupancy), results and their export.
 *
 * Owns: the DOM of bench/web/static/index.html and `window.sabLab`, the page's state as
 * plain data (read by test/lab/browser.test.ts and handy in the console).
 *
 * The main thread never attaches to a heap (it may not block in Atomics.wait): runs go
 * through runner.ts, and the heap map and caches are read from the shared buffer
 * (heapmap.ts). Charts are the CLI's vega-lite specs (bench/kit/charts.ts), rendered to SVG.
 */
import { LOCK_KINDS, type LockKind } from '../../../src/locks/index.js';
import { SharedHeap, canBlock, heapPicture, sampleLock, tierLocks, type SpanKind } from '../../../src/index.js';
import { lineChartSpec, specToSvg, type ChartSeries } from '../../kit/charts.js';
import type { ContentionResults, RunRecord } from '../../contention/types.js';
import type { LockBenchReport } from '../../locks/sweep.js';
import { calibrateCs, calibrateOutside, type LockBenchPoint } from '../../locks/point.js';
import { drawLineChart, prepareCanvas } from './livechart.js';
import { fmt, fmtBytes, fmtNs } from './format.js';
import { loadLockModuleFile } from './lockmodule.js';
import { LAB_WORKLOADS, benchResults, download, lockResults, type ExportSource } from './exports.js';
import { readThreadCaches, type CacheOccupancy } from './heapmap.js';
import { SpanMap, drawSpanLegend, type SpanMapSummary } from './spanmap.js';
import { Stepper, type StepState } from './stepper.js';
import { LockQueues, Timeline, renderLockQueues, type LockQueueRow, type TimelineSummary } from './timeline.js';
import { measuredPoint } from '../../kit/noise.js';
import { formatPoint } from '../../kit/sample.js';
import { COARSE_TIMER_NS, formatNs, formatPercentile, fromBuckets, timerResolution } from '../../kit/histogram.js';
import { runHeapPoint, runLockPoint, type CheckOutcome, type HeapRunConfig, type LiveSink, type LockRow } from './runner.js';

const WORKER_URL = new URL('./lab-worker.js', import.meta.url).href;
const HC = navigator.hardwareConcurrency || 1;
const MAX_WORKERS = 4 * HC;


interface MapSummary extends SpanMapSummary {
  final: boolean;
}

/** The page's state, for tests and the console. */
interface LabState {
  state: 'idle' | 'running' | 'done' | 'error';
  error?: string;
  crossOriginIsolated: boolean;
  mainThreadCanBlock: boolean;
  hardwareConcurrency: number;
  runs: RunRecord[];
  checks: (CheckOutcome & { workload: string; workers: number })[];
  lockPoints: LockBenchPoint[];
  /** the last live throughput sample: per worker and total */
  lastThroughput: { perWorker: number[]; total: number } | null;
  /** the highest live total of the current point */
  throughputPeak: number;
  lastLockRows: LockRow[];
  liveMap: MapSummary | null;
  finalMap: MapSummary | null;
  caches: { rows: number; nonEmptyRows: number; totalBytes: number } | null;
  /** slow motion: its calls as drawn, with the heap's own counters around each */
  step: StepState | null;
  /** slow motion's span map, as last drawn */
  stepMap: SpanMapSummary | null;
  /** the over-time panels, as last drawn */
  timeline: TimelineSummary | null;
  /** the live lock queues of the run in progress (or last run) */
  lockQueues: LockQueueRow[];
  startedAt: string;
  benchJson(): ContentionResults | null;
  locksJson(): LockBenchReport | null;
  /** Canvas point of the biggest span of `kind` on a map (scripted tooltips: bench/web/screenshots.ts). */
  spanPoint(map: 'live' | 'final' | 'step', kind: SpanKind): { x: number; y: number } | null;
  /** Tries a heap on this (main) thread: the library's refusal code, or 'attached'. */
  tryMainThreadHeap(): string;
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} missing`);
  return el as T;
};

const lab: LabState = {
  state: 'idle',
  crossOriginIsolated: globalThis.crossOriginIsolated === true,
  mainThreadCanBlock: canBlock(),
  hardwareConcurrency: HC,
  runs: [],
  checks: [],
  lockPoints: [],
  lastThroughput: null,
  throughputPeak: 0,
  lastLockRows: [],
  liveMap: null,
  finalMap: null,
  caches: null,
  step: null,
  stepMap: null,
  timeline: null,
  lockQueues: [],
  startedAt: new Date().toISOString(),
  benchJson: () => benchResults(exportSource()),
  locksJson: () => lockResults(exportSource()),
  spanPoint: (map, kind) => (map === 'live' ? liveMap : map === 'final' ? finalMap : stepper.spanMap).pointOfKind(kind),
  tryMainThreadHeap: () => {
    try {
      SharedHeap.create({ size: 1 << 20 }).detach();
      return 'attached';
    } catch (e) {
      return (e as { code?: string }).code ?? String(e);
    }
  },
};
(globalThis as unknown as { sabLab: LabState }).sabLab = lab;

// ------------------------------------------------------------------ formatting

function cell(tag: 'td' | 'th', text: string, cls?: string): HTMLTableCellElement {
  const c = document.createElement(tag);
  c.textContent = text;
  if (cls) c.className = cls;
  return c;
}
function fillTable(table: HTMLTableElement, header: readonly string[], rows: readonly (readonly string[])[]): void {
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const h of header) head.appendChild(cell('th', h));
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    r.forEach((v, k) => tr.appendChild(cell('td', v, k === 0 ? 'l' : 'n')));
  }
}

// ------------------------------------------------------------------ charts

/** Renders a vega-lite spec into a panel; one render at a time, the latest data wins. */
class ChartSlot {
  private busy = false;
  private next: Parameters<typeof lineChartSpec>[0] | null = null;
  constructor(private readonly el: HTMLElement) {}
  show(o: Parameters<typeof lineChartSpec>[0]): void {
    this.next = o;
    if (!this.busy) void this.pump();
  }
  private async pump(): Promise<void> {
    this.busy = true;
    try {
      while (this.next) {
        const o = this.next;
        this.next = null;
        this.el.innerHTML = await specToSvg(lineChartSpec(o));
      }
    } finally {
      this.busy = false;
    }
  }
}

const throughputChart = new ChartSlot($('throughput-chart'));
const resultsChart = new ChartSlot($('results-chart'));
const lockResultsChart = new ChartSlot($('lock-results-chart'));

// ------------------------------------------------------------------ heap map

const tooltip = $('tooltip');
const liveMap = new SpanMap($<HTMLCanvasElement>('map-live'), $('map-live-caption'), tooltip);
const finalMap = new SpanMap($<HTMLCanvasElement>('map-final'), $('map-final-caption'), tooltip);
drawSpanLegend($('map-legend'), true);
/** Which run the panels show: numbered in the order the page started them. */
let runSeq = 0;
let runLabel = '';

const timeline = new Timeline($<HTMLCanvasElement>('tl-events'), $<HTMLCanvasElement>('tl-occupancy'), $('tl-caption'));
const lockQueues = new LockQueues();
/** What the lock sampler reads: the heap of the run in progress, or a sweep's lock under test. */
let activeHeap: SharedArrayBuffer | null = null;
let sweepTarget: Parameters<NonNullable<LiveSink['sweepLock']>>[0] = null;
let lockTicks = 0;
/** Samples the lock queues every few milliseconds; redraws their table ten times a second. */
setInterval(() => {
  if (activeHeap) lockQueues.add(tierLocks(activeHeap));
  else if (sweepTarget && (LOCK_KINDS as readonly string[]).includes(sweepTarget.kind)) lockQueues.add([{ tier: 'lock under test', ...sampleLock(sweepTarget.kind, sweepTarget.i32, sweepTarget.word, sweepTarget.parties) }]);
  else return;
  if (++lockTicks % 20 === 0) publishLockQueues();
}, 10);

/** Draws the lock-queue table and copies it to `window.sabLab` (every 20 samples, and when a run ends). */
function publishLockQueues(): void {
  renderLockQueues($<HTMLTableElement>('lock-queue'), lockQueues);
  $('lock-queue-caption').textContent = `${runLabel}: ${[...lockQueues.rows.values()][0]?.samples ?? 0} samples of the lock words (tas and ttas keep no record of their waiters)`;
  lab.lockQueues = [...lockQueues.rows.values()].map((r) => ({ ...r }));
}

/** Empties the heap panels (a lock sweep has no heap: they must not show an older run). */
function clearHeapPanels(why: string): void {
  for (const id of ['map-live', 'map-final', 'cache-canvas']) prepareCanvas($<HTMLCanvasElement>(id), 20);
  for (const id of ['map-live-caption', 'map-final-caption', 'cache-caption']) $(id).textContent = why;
  lab.liveMap = null;
  lab.finalMap = null;
  lab.caches = null;
}

// ------------------------------------------------------------------ thread caches

let cacheRoles: ReadonlyMap<number, string> = new Map();

function drawCaches(occ: CacheOccupancy, caption: string): void {
  const canvas = $<HTMLCanvasElement>('cache-canvas');
  const order = (r: CacheOccupancy['rows'][number]): number => Number(/^worker (\d+)$/.exec(cacheRoles.get(r.threadId) ?? '')?.[1] ?? 1e9);
  const rows = occ.rows.filter((r) => cacheRoles.get(r.threadId) !== 'monitor').sort((a, b) => order(a) - order(b));
  const numClasses = occ.classSizes.length;
  const labelW = 70;
  const totalW = 76;
  const width = canvas.clientWidth || 560;
  const cw = Math.max(2, Math.floor((width - labelW - totalW) / (numClasses - 1)));
  const rh = Math.max(10, Math.min(18, Math.floor(220 / Math.max(1, rows.length))));
  const axisH = 28;
  const height = rows.length * rh + axisH;
  const g = prepareCanvas(canvas, height, width);
  let max = 1;
  for (const r of rows) for (const b of r.bytes) max = Math.max(max, b);
  g.font = `${Math.min(12, rh - 2)}px sans-serif`;
  g.textBaseline = 'middle';
  rows.forEach((r, y) => {
    g.fillStyle = '#222';
    g.textAlign = 'left';
    g.fillText(cacheRoles.get(r.threadId) ?? `thread ${r.threadId}`, 2, y * rh + rh / 2);
    for (let c = 1; c < numClasses; c++) {
      const b = r.bytes[c]!;
      g.fillStyle = b > 0 ? `hsl(210, 70%, ${Math.round(88 - 58 * (Math.log2(1 + b) / Math.log2(1 + max)))}%)` : '#f2f2f2';
      g.fillRect(labelW + (c - 1) * cw, y * rh, cw - (cw > 3 ? 1 : 0), rh - 1);
    }
    g.fillStyle = '#222';
    g.textAlign = 'right';
    g.fillText(fmtBytes(r.totalBytes), width - 2, y * rh + rh / 2);
  });
  g.fillStyle = '#444';
  g.font = '11px sans-serif';
  g.textAlign = 'center';
  for (let c = 1; c < numClasses; c += Math.max(1, Math.round(numClasses / 8))) {
    g.fillText(fmtBytes(occ.classSizes[c]!), labelW + (c - 0.5) * cw, rows.length * rh + 9);
  }
  g.fillText('size class (object size)', labelW + ((numClasses - 1) * cw) / 2, rows.length * rh + 22);
  $('cache-caption').textContent = caption;
  let nonEmpty = 0;
  let total = 0;
  for (const r of rows) {
    if (r.totalBytes > 0) nonEmpty++;
    total += r.totalBytes;
  }
  lab.caches = { rows: rows.length, nonEmptyRows: nonEmpty, totalBytes: total };
}

// ------------------------------------------------------------------ the live sink

const series: { t: number; perWorker: number[] }[] = [];
let seriesTitle = '';
let runT0 = 0;
/** Workers with a non-empty cache in the occupancy panel's sample of this point. */
let cacheBest = 0;

function throughputSeries(): ChartSeries[] {
  const n = series[0]?.perWorker.length ?? 0;
  const lines: ChartSeries[] = [{ name: 'total', points: series.map((s) => [s.t, s.perWorker.reduce((a, b) => a + b, 0)] as const) }];
  // Beyond 10 workers the per-worker lines only clutter the total.
  if (n <= 10) for (let w = 0; w < n; w++) lines.push({ name: `worker ${w}`, points: series.map((s) => [s.t, s.perWorker[w]!] as const) });
  return lines;
}

function throughputLabels(): { title: string; xLabel: string; yLabel: string } {
  return {
    title: seriesTitle,
    xLabel: 'seconds into the timed window',
    yLabel: seriesTitle.startsWith('lock') ? 'lock acquisitions/s' : 'malloc+free calls/s',
  };
}

/** Live: the canvas chart (cheap); once a point is over: the CLI's vega-lite spec. */
function showThroughput(final: boolean): void {
  const canvas = $<HTMLCanvasElement>('throughput-live');
  if (!final) {
    canvas.hidden = false;
    $('throughput-chart').hidden = true;
    drawLineChart(canvas, { ...throughputLabels(), series: throughputSeries() });
    return;
  }
  if (series.length === 0) return;
  const l = throughputLabels();
  canvas.hidden = true;
  $('throughput-chart').hidden = false;
  throughputChart.show({ title: 'Throughput over time', subtitle: l.title, xLabel: l.xLabel, yLabel: l.yLabel, series: throughputSeries(), width: 500, height: 200 });
}

const sink: LiveSink = {
  begin(title, _workers, roles) {
    runSeq++;
    runLabel = `run ${runSeq} (${title})`;
    if (title.startsWith('lock sweep')) clearHeapPanels(`${runLabel}: a lock sweep has no heap, so the heap panels are empty until the next heap run`);
    timeline.begin(runLabel);
    lockQueues.reset();
    lockTicks = 0;
    activeHeap = null;
    series.length = 0;
    cacheBest = 0;
    lab.throughputPeak = 0;
    seriesTitle = title;
    runT0 = performance.now();
    if (roles.size > 0) cacheRoles = roles;
    $('throughput-caption').textContent = title;
  },
  throughput(t, perWorker) {
    series.push({ t, perWorker: [...perWorker] });
    lab.lastThroughput = { perWorker: [...perWorker], total: perWorker.reduce((a, b) => a + b, 0) };
    lab.throughputPeak = Math.max(lab.throughputPeak, lab.lastThroughput.total);
    showThroughput(false);
  },
  locks(rows, caption) {
    lab.lastLockRows = rows.map((r) => ({ ...r }));
    fillTable(
      $<HTMLTableElement>('lock-table'),
      ['tier', 'kind', 'acquisitions', 'contended', 'spins', 'parks', 'wake-ups', 'hand-offs', 'p50 contended wait', 'p99 contended wait'],
      rows.map((r) => [r.tier, r.kind, fmt(r.acquisitions), fmt(r.contended), fmt(r.spins), fmt(r.parks), fmt(r.wakeups), fmt(r.handoffs), waitCell(r, 0.5), waitCell(r, 0.99)]),
    );
    $('lock-caption').textContent = `${caption} · ${timerNote()}`;
  },
  heap(buffer, final) {
    const picture = heapPicture(buffer);
    const t = ((performance.now() - runT0) / 1000).toFixed(2);
    const stamp = final ? `${runLabel}, after the run: every runner detached, check() ran` : `${runLabel}, live at t = ${t} s after its start`;
    const summary = (final ? finalMap : liveMap).draw(picture, stamp, { metadata: true });
    activeHeap = final ? null : buffer;
    if (final) publishLockQueues();
    if (!final) {
      timeline.sample(picture, (performance.now() - runT0) / 1000);
      lab.timeline = timeline.summary;
    }
    if (final) lab.finalMap = { ...summary, final };
    else lab.liveMap = { ...summary, final };
    if (!final) {
      const occ = readThreadCaches(buffer);
      // The sample with the most workers attached wins (ties: the latest): at the very end
      // of the window some workers may already have flushed their caches and detached.
      const attached = occ.rows.filter((r) => (cacheRoles.get(r.threadId) ?? '').startsWith('worker') && r.totalBytes > 0).length;
      if (attached > 0 && attached >= cacheBest) {
        cacheBest = attached;
        drawCaches(occ, `${runLabel}: at t = ${t} s (workers flush their caches when they detach, so the last sample of the run stays)`);
      }
    }
  },
  sweepLock(target) {
    sweepTarget = target;
    if (target === null) publishLockQueues();
  },
  status(text) {
    setStatus('running', text);
  },
};

function setStatus(state: LabState['state'], text: string): void {
  const el = $('status');
  el.dataset['state'] = state;
  el.textContent = text;
}

// ------------------------------------------------------------------ results

function showResults(): void {
  fillTable(
    $<HTMLTableElement>('results-table'),
    ['workload', 'allocator', 'workers', 'calls/s', 'check()', 'blowup', 'cache hits'],
    lab.runs.map((r, k) => {
      const c = lab.checks[k];
      const hits = r.threadCacheHits + r.threadCacheMisses;
      return [
        r.workload,
        r.allocator,
        String(r.workers),
        fmt(r.throughput),
        c?.ok ? `passed (${c.checkMs.toFixed(0)} ms)` : 'FAILED',
        r.blowup.toFixed(2),
        hits > 0 ? `${((100 * r.threadCacheHits) / hits).toFixed(1)}%` : '–',
      ];
    }),
  );
  fillTable(
    $<HTMLTableElement>('lock-results-table'),
    ['lock', 'workers', 'acquisitions/s: median [min..max] (flags)', 'fairness (Jain)', 'fair? (max ≤ 2 min)', 'longest wait', 'contended', 'parks/acq', 'hand-offs', 'p99 acquire', 'p50 hand-over', 'p50 wake-up', 'overhead/acq'],
    lab.lockPoints.map((p) => [
      p.name ?? p.kind,
      String(p.workers),
      p.tput ? formatPoint(p.tput, fmt) : fmt(p.throughput),
      p.jain.toFixed(2),
      p.unfair === undefined ? '–' : p.unfair ? 'UNFAIR' : 'ok',
      p.longestWaitNs ? formatNs(p.longestWaitNs) : '–',
      `${(100 * p.contendedFraction).toFixed(1)}%`,
      p.parksPerAcquisition.toFixed(3),
      fmt(p.handoffs),
      p.acquire ? formatPercentile(p.acquire, 0.99).replace(/^p99 /, '') : '-',
      p.handover ? formatPercentile(p.handover, 0.5, false).replace(/^p50 /, '') : '–',
      p.wakeup ? formatPercentile(p.wakeup, 0.5, false).replace(/^p50 /, '') : '–',
      p.overheadNs == null ? '–' : formatNs(p.overheadNs),
    ]),
  );
  const groups = new Map<string, [number, number][]>();
  for (const r of lab.runs) {
    const k = `${r.workload} · ${r.allocator}`;
    groups.set(k, [...(groups.get(k) ?? []), [r.workers, r.throughput]]);
  }
  if (groups.size > 0) {
    resultsChart.show({
      title: 'Contention runs: throughput by worker count',
      xLabel: 'workers',
      yLabel: 'malloc+free calls/s',
      logX: true,
      series: [...groups].map(([name, points]) => ({ name, points: points.sort((a, b) => a[0] - b[0]) })),
      width: 420,
      height: 200,
    });
  }
  const kinds = new Map<string, [number, number][]>();
  for (const p of lab.lockPoints) kinds.set(p.kind, [...(kinds.get(p.kind) ?? []), [p.workers, p.throughput]]);
  if (kinds.size > 0) {
    lockResultsChart.show({
      title: `Lock sweep: acquisitions/s (cs ${lab.lockPoints[0]!.csWrites} writes)`,
      xLabel: 'workers',
      yLabel: 'acquisitions/s',
      logX: true,
      logY: true,
      series: [...kinds].map(([name, points]) => ({ name, points: points.sort((a, b) => a[0] - b[0]) })),
      width: 420,
      height: 200,
    });
  }
  ($<HTMLButtonElement>('export-bench')).disabled = lab.runs.length === 0;
  ($<HTMLButtonElement>('export-locks')).disabled = lab.lockPoints.length === 0;
}

// ------------------------------------------------------------------ controls

let lastConfig: HeapRunConfig | null = null;
let lastSweepDuration = 0;
/** ns per critical-section body, measured on this thread as the CLI does (by cs length) */
const csNs: Record<number, number> = {};
/** calibrated outside work (cpuRelax iterations -> ns), for the overhead per acquisition */
const outsideNs: Record<number, number> = {};
let lastReps = 1;
const exportSource = (): ExportSource => ({ runs: lab.runs, lockPoints: lab.lockPoints, startedAt: lab.startedAt, lastConfig, lastSweepDuration, reps: lastReps, csNs });
/** Lock modules loaded from files: kind name -> blob: URL (workers import it). */
const lockModules = new Map<string, string>();

/** Loads a lock module the reader picked (lockmodule.ts) and offers it as a kind of the sweep. */
async function addLockModule(file: File): Promise<string> {
  const { name, url } = await loadLockModuleFile(file, (n) => (LOCK_KINDS as readonly string[]).includes(n) || lockModules.has(n));
  lockModules.set(name, url);
  addKindBox(name, `${name} (your module)`);
  return name;
}

/** A checked box for lock kind `kind` in the sweep's list of kinds. */
function addKindBox(kind: string, text: string): void {
  const label = document.createElement('label');
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.value = kind;
  box.checked = true;
  box.name = 'kind';
  label.append(box, text);
  $('kinds').appendChild(label);
}

function parseWorkers(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const n = Number(part);
    if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
      throw new RangeError(`worker counts are integers from 1 to ${MAX_WORKERS} (4 x navigator.hardwareConcurrency), got "${part}"`);
    }
    if (!out.includes(n)) out.push(n);
  }
  if (out.length === 0) throw new RangeError('give at least one worker count');
  return out;
}

function setupControls(): void {
  const workload = $<HTMLSelectElement>('workload');
  for (const w of LAB_WORKLOADS) workload.add(new Option(`${w.name}: ${w.description}`, w.name));
  workload.add(new Option('lock sweep: every chosen lock kind hammered by the workers (lock lab)', 'locks'));
  workload.value = 'ring';
  for (const id of ['central', 'pageHeap']) {
    const sel = $<HTMLSelectElement>(id);
    for (const k of LOCK_KINDS) sel.add(new Option(k, k));
  }
  $<HTMLSelectElement>('central').value = 'ttas';
  $<HTMLSelectElement>('pageHeap').value = 'futex';
  for (const k of LOCK_KINDS) addKindBox(k, k);
  const workers = $<HTMLInputElement>('workers');
  workers.value = String(Math.min(2, MAX_WORKERS));
  $('workers-hint').textContent = `comma-separated, 1 to ${MAX_WORKERS} (4 × hardwareConcurrency ${HC})`;
  $('isolation').textContent = lab.crossOriginIsolated ? 'cross-origin isolated' : 'NOT cross-origin isolated: SharedArrayBuffer is unavailable';
  $('isolation').className = lab.crossOriginIsolated ? 'ok' : 'bad';
  $('cores').textContent = `${HC} hardware threads`;
  const sync = (): void => {
    const isSweep = workload.value === 'locks';
    $('heap-options').classList.toggle('off', isSweep);
    $('sweep-options').classList.toggle('off', !isSweep);
    const plain = $<HTMLInputElement>('threadCache').checked && !$<HTMLInputElement>('globalLock').checked;
    $<HTMLSelectElement>('central').disabled = !plain;
    $<HTMLSelectElement>('pageHeap').disabled = !plain;
  };
  for (const id of ['workload', 'threadCache', 'globalLock']) $(id).addEventListener('change', sync);
  sync();
  $('run').addEventListener('click', () => void run());
  $<HTMLInputElement>('lock-module').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (!f) return;
    addLockModule(f).then(
      (name) => ($('lock-module-status').textContent = `loaded: kind '${name}' is in the sweep`),
      (err: unknown) => ($('lock-module-status').textContent = `not loaded: ${err instanceof Error ? err.message : String(err)}`),
    );
  });
  $('export-bench').addEventListener('click', () => download('lab-web-bench.json', benchResults(exportSource())));
  $('export-locks').addEventListener('click', () => download('lab-web-locks.json', lockResults(exportSource())));
  showResults();
}

async function run(): Promise<void> {
  if (lab.state === 'running') return;
  const button = $<HTMLButtonElement>('run');
  try {
    const counts = parseWorkers($<HTMLInputElement>('workers').value);
    const durationMs = Number($<HTMLInputElement>('duration').value);
    if (!(Number.isInteger(durationMs) && durationMs >= 50 && durationMs <= 600_000)) throw new RangeError('duration: 50 to 600000 ms');
    const reps = Number($<HTMLInputElement>('reps').value);
    if (!(Number.isInteger(reps) && reps >= 1 && reps <= 20)) throw new RangeError('repetitions: 1 to 20');
    lastReps = reps;
    lab.state = 'running';
    setStatus('running', 'starting…');
    delete lab.error;
    button.disabled = true;
    const choice = $<HTMLSelectElement>('workload').value;
    if (choice === 'locks') {
      const kinds = [...document.querySelectorAll<HTMLInputElement>('input[name=kind]:checked')].map((b) => b.value as LockKind);
      if (kinds.length === 0) throw new RangeError('choose at least one lock kind');
      const csWrites = Number($<HTMLInputElement>('cs').value);
      if (!(Number.isInteger(csWrites) && csWrites >= 0 && csWrites <= 65536)) throw new RangeError('critical section: 0 to 65536 writes');
      const outsideWork = Number($<HTMLInputElement>('outside').value);
      if (!(Number.isInteger(outsideWork) && outsideWork >= 0 && outsideWork <= 1_000_000)) throw new RangeError('work outside the lock: 0 to 1000000 iterations');
      lastSweepDuration = durationMs;
      csNs[csWrites] ??= calibrateCs(csWrites);
      for (const workers of counts) {
        // `reps` repetitions per point, interleaved across kinds (rotated start) so a
        // burst of other work hits every kind alike; the point is the median repetition
        const byKind = new Map<string, LockBenchPoint[]>(kinds.map((k) => [k, []]));
        for (let rep = 0; rep < reps; rep++) {
          for (let j = 0; j < kinds.length; j++) {
            const kind = kinds[(j + rep) % kinds.length]!;
            const lockModule = lockModules.get(kind);
            const sectionsNs = { cs: csNs[csWrites] ?? 0, outside: (outsideNs[outsideWork] ??= calibrateOutside(outsideWork)) };
            byKind.get(kind)!.push(await runLockPoint(WORKER_URL, { kind, workers, durationMs, csWrites, outsideWork, sectionsNs, ...(lockModule ? { lockModule } : {}) }, sink));
          }
        }
        for (const kind of kinds) lab.lockPoints.push(medianLockPoint(byKind.get(kind)!, workers));
        showResults();
      }
    } else {
      for (let rep = 0; rep < reps; rep++) for (const workers of counts) {
        const cfg: HeapRunConfig = {
          workload: choice,
          workers,
          durationMs,
          scale: $<HTMLSelectElement>('scale').value as HeapRunConfig['scale'],
          central: $<HTMLSelectElement>('central').value as LockKind,
          pageHeap: $<HTMLSelectElement>('pageHeap').value as LockKind,
          threadCache: $<HTMLInputElement>('threadCache').checked,
          globalLock: $<HTMLInputElement>('globalLock').checked,
          preallocate: $<HTMLInputElement>('preallocate').checked,
          touch: $<HTMLSelectElement>('touch').value as HeapRunConfig['touch'],
          seed: 1 + rep,
        };
        lastConfig = cfg;
        const r = await runHeapPoint(WORKER_URL, cfg, sink);
        lab.runs.push(r.record);
        lab.checks.push({ ...r.check, workload: cfg.workload, workers });
        showResults();
      }
    }
    showThroughput(true);
    lab.state = 'done';
    setStatus('done', `done: ${lab.runs.length} contention run(s), ${lab.lockPoints.length} lock point(s)`);
  } catch (e) {
    lab.state = 'error';
    lab.error = e instanceof Error ? e.message : String(e);
    setStatus('error', lab.error);
    console.error(e);
  } finally {
    button.disabled = false;
  }
}

setupControls();
const stepper = new Stepper(WORKER_URL, tooltip);
drawSpanLegend($('step-legend'));
lab.step = stepper.state;
Object.defineProperty(lab, 'stepMap', { enumerable: true, get: () => stepper.mapSummary });
if (!lab.crossOriginIsolated) setStatus('error', 'this page is not cross-origin isolated: start it with `npm run lab:web`');
else setStatus('idle', `ready (main thread ${lab.mainThreadCanBlock ? 'can' : 'cannot'} block: heap work runs in workers)`);

/** This page's clock step (browsers coarsen performance.now(), often to 5-100 µs). */
const TIMER = timerResolution();

/** What the timer lets the wait percentiles say. */
function timerNote(): string {
  if (TIMER.resolutionNs === null) return 'timer: did not advance while probed (coarse); waits below its step read "< step"';
  return TIMER.coarse
    ? `coarse timer: ${formatNs(TIMER.resolutionNs)} steps; waits shorter than a step read "< ${formatNs(TIMER.resolutionNs)} (timer resolution)", not 0`
    : `timer step ${formatNs(TIMER.resolutionNs)}`;
}

/** A contended-wait percentile as its log2 bucket bound ("<= 4.19 ms"), "-" when nothing was recorded. */
function waitCell(r: LockRow, q: number): string {
  if (!r.latencyBuckets?.length) return '-';
  return formatPercentile(fromBuckets(r.latencyBuckets, 0, TIMER.resolutionNs ?? COARSE_TIMER_NS), q, false).replace(/^p[\d.]+ /, '');
}


/**
 * The median repetition of a lock point, carrying every repetition and their Point
 * (bench/kit/noise.ts: a page cannot see CPU time, so only the spread flag can be raised).
 */
function medianLockPoint(reps: readonly LockBenchPoint[], workers: number): LockBenchPoint {
  const sorted = [...reps].sort((a, b) => a.throughput - b.throughput);
  const values = reps.map((p) => p.throughput);
  return { ...sorted[(sorted.length - 1) >> 1]!, throughputReps: values, tput: measuredPoint(values, [], { workers }) };
}
