/**
 * The web lab in a real browser: headless Chromium from the @sparticuz/chromium package
 * (its binary ships inside the npm package: nothing downloads at run time), driven by
 * playwright-core, against the lab's own server (bench/web/server.ts) on a free port.
 * bench/web/headless.ts launches it with minimal arguments, so SharedArrayBuffer is there
 * only because the server's headers make the page cross-origin isolated: the first test
 * proves it.
 *
 * Drives the page as a person would (workload, workers, Run) and reads `window.sabLab`
 * for the assertions. Needs the page bundles: `npm test` builds them first. Takes a
 * screenshot after a last larson run: into the OS temp directory, so `npm test` leaves the
 * working tree clean, or over the README's bench/results/lab-web.png with
 * SABMALLOC_UPDATE_SCREENSHOT=1 (`SABMALLOC_UPDATE_SCREENSHOT=1 npx vitest run test/lab/browser.test.ts`).
 *
 * Then the web lab as an explanation of the tiers, on the same page after those runs (one
 * Chromium launch for the file): slow motion's drawn path of each call against the heap's
 * own stats() counters, the live span map of a larson run holding the run's small spans, and
 * a lock sweep (with a lock module loaded from a file) emptying the heap panels instead of
 * showing an older run. That sweep narrows the kinds ticked on the page, so it comes last.
 */
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../bench/web/build.js';
import { openLab, readLab, runInLab, type LabView, type OpenLab } from '../../bench/web/headless.js';
import { sizeClassOfRequest } from '../../src/index.js';
import type { StepCounters } from '../../bench/web/page/protocol.js';

const RUN_TIMEOUT_MS = 240_000;

let lab: OpenLab;

beforeAll(async () => {
  lab = await openLab();
}, 120_000);

afterAll(async () => {
  await lab?.close();
});

describe('web lab in headless Chromium', () => {
  async function run(workload: string, workers: string, durationMs: number): Promise<LabView> {
    const view = await runInLab(lab.page, { workload, workers, durationMs, timeoutMs: RUN_TIMEOUT_MS });
    expect(view.error, 'the run failed').toBeUndefined();
    expect(view.state).toBe('done');
    return view;
  }

  it('is cross-origin isolated and keeps heap work off the main thread', async () => {
    const view = await readLab(lab.page);
    expect(view.crossOriginIsolated).toBe(true);
    expect(await lab.page.evaluate(() => typeof SharedArrayBuffer)).toBe('function');
    // A browser's main thread may not block in Atomics.wait: the library refuses to attach
    // there with its typed error instead of failing inside a lock.
    expect(view.mainThreadCanBlock).toBe(false);
    const refused = await lab.page.evaluate(() => (globalThis as unknown as { sabLab: { tryMainThreadHeap(): string } }).sabLab.tryMainThreadHeap());
    expect(refused).toBe('ERR_SABMALLOC_CANNOT_BLOCK');
  });

  // One repetition per point here: the median of 2 repetitions is checked by the last lock
  // sweep of the file (with a lock module loaded from a file).
  it('runs a lock sweep at 2 and 8 workers', async () => {
    const view = await run('locks', '2,8', 50);
    expect(view.lockPoints.length).toBe(2 * 6);
    for (const p of view.lockPoints) {
      expect([2, 8]).toContain(p.workers);
      // a point's window closes only once the lock was acquired (windowMayClose), however
      // late 8 hammers on 2 busy cores get the CPU
      expect(p.acquisitions, `${p.kind} at ${p.workers}`).toBeGreaterThan(0);
      expect(p.throughput).toBeGreaterThan(0);
      expect(p.throughputReps).toHaveLength(1);
    }
    expect(view.lastLockRows.some((r) => r.acquisitions > 0)).toBe(true);
  }, RUN_TIMEOUT_MS + 10_000);

  it('runs ring at 2 and 8 workers, checks the heap in a worker and maps every page once', async () => {
    const view = await run('ring', '2,8', 1000);

    expect(view.runs.map((r) => r.workers)).toEqual([2, 8]);
    for (const r of view.runs) {
      expect(r.workload).toBe('ring');
      expect(r.throughput).toBeGreaterThan(0);
    }
    for (const c of view.checks) {
      expect(c.ok).toBe(true);
      expect(c.inUseObjects).toBe(0);
      // Over the whole run (set-up, timed window, clean-up) the central caches were used.
      expect(c.stats.locks.central.acquisitions).toBeGreaterThan(0);
    }
    expect(view.throughputPeak).toBeGreaterThan(0);
    expect(view.lastLockRows.some((r) => r.acquisitions > 0)).toBe(true);
    expect(view.caches?.nonEmptyRows ?? 0).toBeGreaterThan(0);

    const map = view.finalMap!;
    expect(map).not.toBeNull();
    expect(map.exact).toBe(true);
    expect(map.totalPages).toBe(map.metadataPages + map.committedPages);
    expect(map.drawnOncePages).toBe(map.totalPages);
    expect(map.counts.unknown).toBe(0);
    expect(map.counts.metadata + map.counts.free + map.counts.small + map.counts.large).toBe(map.totalPages);
    // Read from the buffer, the map agrees with the heap's own stats() after the run.
    const last = view.checks[view.checks.length - 1]!;
    expect(map.counts.free * map.pageSize).toBe(last.stats.pageHeapFreeBytes);

    expect(lab.consoleErrors).toEqual([]);
  }, RUN_TIMEOUT_MS + 10_000);

  it('runs larson (remote frees, so the central locks see contention) and saves the screenshot', async () => {
    const view = await run('larson', '4', 300);
    const larson = view.runs.filter((r) => r.workload === 'larson');
    expect(larson.length).toBe(1);
    expect(larson[0]!.throughput).toBeGreaterThan(0);
    expect(view.checks[view.checks.length - 1]!.ok).toBe(true);
    expect(view.finalMap?.drawnOncePages).toBe(view.finalMap?.totalPages);
    expect(lab.consoleErrors).toEqual([]);
    const out =
      process.env.SABMALLOC_UPDATE_SCREENSHOT === '1'
        ? join(packageRoot(), 'bench', 'results')
        : mkdtempSync(join(tmpdir(), 'sabmalloc-lab-web-'));
    mkdirSync(out, { recursive: true });
    const png = join(out, 'lab-web.png');
    await lab.page.screenshot({ path: png, fullPage: true });
    expect(statSync(png).size).toBeGreaterThan(10_000);
  }, RUN_TIMEOUT_MS + 10_000);
});

/** The counters slow motion records around each call (the page's own type, less the live count). */
type Counters = Omit<StepCounters, 'inUseObjects'>;
interface StepRecord {
  index: number;
  op: 'malloc' | 'free';
  size: number;
  sizeClass: number;
  kind: string;
  path: string[];
  drawnPath: string[];
  before: Counters;
  after: Counters;
}
interface MapView {
  stamp: string;
  exact: boolean;
  counts: { small: number; unknown: number };
  classes: number[];
  byKind: Record<string, number>;
}
interface ExplainView {
  step: { calls: StepRecord[]; busy: boolean; error?: string };
  stepMap: MapView | null;
  liveMap: MapView | null;
  finalMap: MapView | null;
  caches: unknown;
}

const read = async (lab: OpenLab): Promise<ExplainView> => (await readLab(lab.page)) as unknown as ExplainView;

describe('web lab: the tiers made visible', () => {
  it('slow motion: 100 calls, each drawn path agreeing with the heap counters', async () => {
    await lab.page.fill('#step-count', '100');
    await lab.page.fill('#step-rate', '0');
    await lab.page.click('#step-play');
    await lab.page.waitForFunction(
      () => {
        const s = (globalThis as unknown as { sabLab: ExplainView }).sabLab.step;
        return (s.calls.length >= 100 && !s.busy) || s.error !== undefined;
      },
      null,
      { timeout: 180_000, polling: 200 },
    );
    const view = await read(lab);
    expect(view.step.error).toBeUndefined();
    const calls = view.step.calls;
    expect(calls.length).toBe(100);
    const d = (c: StepRecord, k: keyof Counters): number => c.after[k] - c.before[k];
    const seen = new Map<string, number>();
    for (const c of calls) {
      seen.set(c.kind, (seen.get(c.kind) ?? 0) + 1);
      const at = `call ${c.index}: ${c.op}(${c.size}) ${c.kind}`;
      // The diagram lit exactly the tiers of the explanation, in order.
      expect(c.drawnPath, at).toEqual(c.path);
      switch (c.kind) {
        case 'thread-cache hit':
          expect(c.drawnPath, at).toEqual(['threadcache']);
          expect(d(c, 'threadCacheHits'), at).toBe(1);
          expect(d(c, 'threadCacheMisses'), at).toBe(0);
          expect(d(c, 'centralLockAcquisitions') + d(c, 'pageHeapLockAcquisitions'), at).toBe(0);
          break;
        case 'central refill':
          expect(c.drawnPath.length, at).toBe(2);
          expect(['central', 'transfer'], at).toContain(c.drawnPath[1]);
          expect(d(c, 'threadCacheMisses'), at).toBe(1);
          expect(d(c, 'threadCacheHits'), at).toBe(0);
          expect(d(c, 'centralLockAcquisitions'), at).toBeGreaterThanOrEqual(1);
          expect(d(c, 'pageHeapLockAcquisitions'), at).toBe(0);
          expect(d(c, 'smallSpanBytes'), at).toBe(0);
          break;
        case 'page-heap carve':
          expect(c.drawnPath.slice(0, 3), at).toEqual(['threadcache', 'central', 'pageheap']);
          expect(d(c, 'threadCacheMisses'), at).toBe(1);
          expect(d(c, 'pageHeapLockAcquisitions'), at).toBeGreaterThanOrEqual(1);
          expect(d(c, 'smallSpanBytes'), at).toBeGreaterThan(0);
          expect(c.drawnPath.includes('grow'), at).toBe(d(c, 'growCount') > 0);
          break;
        case 'cached free':
          expect(c.drawnPath, at).toEqual(['threadcache']);
          expect(d(c, 'centralLockAcquisitions') + d(c, 'pageHeapLockAcquisitions'), at).toBe(0);
          break;
        case 'large malloc':
          expect(c.drawnPath[0], at).toBe('pageheap');
          expect(d(c, 'largeBytes'), at).toBeGreaterThan(0);
          break;
        default:
          // Frees that went down a tier took its lock.
          expect(d(c, 'centralLockAcquisitions') + d(c, 'pageHeapLockAcquisitions'), at).toBeGreaterThan(0);
      }
    }
    for (const kind of ['thread-cache hit', 'central refill', 'page-heap carve']) expect(seen.get(kind) ?? 0, kind).toBeGreaterThan(0);
    // The call log shows the same paths, newest first.
    const rows = await lab.page.$$eval('#step-log tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset['path']));
    expect(rows.slice(0, 100)).toEqual(calls.map((c) => c.drawnPath.join(',')).reverse());
    // The span map after the last call holds a span of every class still in use.
    expect(view.stepMap?.exact).toBe(true);
    expect(view.stepMap?.stamp).toContain('after call 100');
    expect(lab.consoleErrors).toEqual([]);
  }, 200_000);

  it('the tooltip names the span under the pointer', async () => {
    const box = (await lab.page.locator('#step-map').boundingBox())!;
    await lab.page.mouse.move(box.x + 4, box.y + 4);
    const text = await lab.page.textContent('#tooltip');
    expect(text).toMatch(/^pages 0–/);
    expect(text).toMatch(/size class \d+|free span|large object/);
  });

  it('the live map of a larson run (1 worker) shows small spans of the classes larson allocates', async () => {
    const view = (await runInLab(lab.page, { workload: 'larson', workers: '1', durationMs: 1000 })) as unknown as ExplainView & { error?: string };
    expect(view.error).toBeUndefined();
    const live = view.liveMap!;
    expect(live.stamp).toMatch(/run \d+ \(larson .* live at t = /);
    expect(live.counts.small).toBeGreaterThan(0);
    // larson allocates 8..1000 B blocks: many classes, none above the class of 1000 B.
    const top = sizeClassOfRequest(8192, 1000);
    expect(live.classes.length).toBeGreaterThan(10);
    for (const c of live.classes) expect(c).toBeLessThanOrEqual(top);
    expect(view.finalMap!.stamp).toContain(live.stamp.split(',')[0]!);
    // The over-time panels drew this run, on seconds since its start, with larson's classes.
    const tl = (view as unknown as { timeline: { label: string; points: number; t0: number; t1: number; classes: number[] } }).timeline;
    expect(tl.label).toBe(live.stamp.split(',')[0]);
    expect(tl.points).toBeGreaterThanOrEqual(2);
    expect(tl.t1).toBeGreaterThan(tl.t0);
    for (const c of tl.classes) expect(live.classes).toContain(c);
    // The tier locks' queues were sampled live from the lock words.
    const queues = (view as unknown as { lockQueues: { tier: string; samples: number }[] }).lockQueues;
    expect(queues.map((q) => q.tier).sort()).toEqual(['central', 'pageHeap']);
    for (const q of queues) expect(q.samples).toBeGreaterThan(0);
    expect(lab.consoleErrors).toEqual([]);
  }, 240_000);

  it('a lock sweep with a lock module loaded from a file and 2 repetitions empties the heap panels', async () => {
    await lab.page.selectOption('#workload', 'locks');
    await lab.page.$$eval('input[name=kind]', (boxes) => boxes.forEach((b) => ((b as HTMLInputElement).checked = (b as HTMLInputElement).value === 'ttas')));
    await lab.page.setInputFiles('#lock-module', join(packageRoot(), 'bench', 'examples', 'backoff-lock.js'));
    await lab.page.waitForFunction(() => /loaded|not loaded/.test(document.getElementById('lock-module-status')!.textContent ?? ''));
    expect(await lab.page.textContent('#lock-module-status')).toMatch(/^loaded: kind '[a-z0-9._-]+'/);
    await lab.page.fill('#reps', '2');
    await lab.page.fill('#outside', '16');
    const before = ((await readLab(lab.page)) as unknown as { lockPoints: unknown[] }).lockPoints.length;
    const view = (await runInLab(lab.page, { workload: 'locks', workers: '2', durationMs: 150 })) as unknown as ExplainView & {
      error?: string;
      lockPoints: { kind: string; acquisitions: number; outsideWork: number; throughputReps?: number[] }[];
    };
    expect(view.error).toBeUndefined();
    const points = view.lockPoints.slice(before);
    // bench/examples/backoff-lock.js names its kind 'tas-backoff'. One point per kind: the
    // median repetition, carrying both repetitions.
    expect(points.map((p) => p.kind).sort()).toEqual(['tas-backoff', 'ttas']);
    for (const p of points) {
      expect(p.throughputReps, p.kind).toHaveLength(2);
      expect(p.acquisitions, p.kind).toBeGreaterThan(0);
      expect(p.outsideWork).toBe(16);
    }
    expect(view.liveMap).toBeNull();
    expect(view.finalMap).toBeNull();
    expect(await lab.page.textContent('#map-live-caption')).toMatch(/lock sweep has no heap/);
    expect(lab.consoleErrors).toEqual([]);
  }, 120_000);
});
