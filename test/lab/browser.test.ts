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
 */
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../bench/web/build.js';
import { openLab, readLab, runInLab, type LabView, type OpenLab } from '../../bench/web/headless.js';

const RUN_TIMEOUT_MS = 240_000;

describe('web lab in headless Chromium', () => {
  let lab: OpenLab;

  beforeAll(async () => {
    lab = await openLab();
  }, 120_000);

  afterAll(async () => {
    await lab?.close();
  });

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

  it('runs a lock sweep at 2 and 8 workers', async () => {
    await lab.page.fill('#reps', '3');
    const view = await run('locks', '2,8', 150);
    await lab.page.fill('#reps', '1');
    expect(view.lockPoints.length).toBe(2 * 6);
    for (const p of view.lockPoints) {
      expect([2, 8]).toContain(p.workers);
      expect(p.acquisitions, `${p.kind} at ${p.workers}`).toBeGreaterThan(0);
      expect(p.throughput).toBeGreaterThan(0);
      expect(p.throughputReps).toHaveLength(3); // repetitions, median reported
    }
    expect(view.lastLockRows.some((r) => r.acquisitions > 0)).toBe(true);
  }, RUN_TIMEOUT_MS + 10_000);

  it('runs ring at 2 and 8 workers, checks the heap in a worker and maps every page once', async () => {
    const view = await run('ring', '2,8', 2000);

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
    const view = await run('larson', '4', 1500);
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
