/**
 * The web lab as an explanation of the tiers, in headless Chromium (bench/web/headless.ts,
 * the same launch as the other browser test): slow motion's drawn path of each call
 * against the heap's own stats() counters, the live span map of a larson run holding the
 * run's small spans, and a lock sweep emptying the heap panels instead of showing an
 * older run. Needs the page bundles (`npm run build`).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../bench/web/build.js';
import { openLab, readLab, runInLab, type OpenLab } from '../../bench/web/headless.js';
import { sizeClassOfRequest } from '../../src/index.js';

interface Counters {
  threadCacheHits: number;
  threadCacheMisses: number;
  centralLockAcquisitions: number;
  pageHeapLockAcquisitions: number;
  growCount: number;
  smallSpanBytes: number;
  largeBytes: number;
}
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
  let lab: OpenLab;

  beforeAll(async () => {
    lab = await openLab();
  }, 120_000);

  afterAll(async () => {
    await lab?.close();
  });

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
    const view = (await runInLab(lab.page, { workload: 'larson', workers: '1', durationMs: 1500 })) as unknown as ExplainView & { error?: string };
    expect(view.error).toBeUndefined();
    const live = view.liveMap!;
    expect(live.stamp).toMatch(/run \d+ \(larson .* live at t = /);
    expect(live.counts.small).toBeGreaterThan(0);
    // larson allocates 8..1000 B blocks: many classes, none above the class of 1000 B.
    const top = sizeClassOfRequest(4096, 1000);
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
