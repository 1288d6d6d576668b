/**
 * Takes the screenshots docs/weblab.md shows, by driving the web lab in headless Chromium
 * (bench/web/headless.ts) as a reader would:
 *
 *   npm run build && node dist/bench/web/screenshots.js [--out docs/img]
 *
 * - weblab-step.png: slow motion after 60 calls of the script and a malloc of a size no
 *   call used before (a miss that goes down to the PageHeap);
 * - weblab-spanmap.png: the live span-state map of a larson run with the tooltip open over
 *   a small span;
 * - weblab-overtime.png: tier events per second and size-class occupancy of that run;
 * - weblab-locks.png: the locks panel with the live lock queues.
 *
 * Owns: the PNG files it writes. The figures in them come from this machine at the time
 * the script runs (a shared machine gives fewer live samples per second).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { packageRoot } from './build.js';
import { openLab, runInLab } from './headless.js';

const i = process.argv.indexOf('--out');
const out = resolve(i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : join(packageRoot(), 'docs', 'img'));
mkdirSync(out, { recursive: true });

/** Screenshot of the page region of element `sel`, grown by `extra` px below (for a tooltip). */
async function shoot(page: Page, sel: string, file: string, extra = 0): Promise<void> {
  const box = await page.locator(sel).boundingBox();
  if (!box) throw new Error(`${sel} is not on the page`);
  await page.screenshot({ path: join(out, file), clip: { x: box.x, y: box.y, width: box.width, height: box.height + extra }, fullPage: true });
  console.log(`wrote ${join(out, file)}`);
}

/** Moves the pointer over the biggest span of `kind` on map `map` (canvas #canvasId); false if none. */
async function hoverSpan(page: Page, map: 'live' | 'step', canvasId: string, kind: string): Promise<boolean> {
  const pt = await page.evaluate(
    ([m, k]) => (globalThis as unknown as { sabLab: { spanPoint(m: string, k: string): { x: number; y: number } | null } }).sabLab.spanPoint(m!, k!),
    [map, kind],
  );
  const box = await page.locator(`#${canvasId}`).boundingBox();
  if (!pt || !box) return false;
  await page.mouse.move(box.x + pt.x, box.y + pt.y);
  return true;
}

// Tall enough that nothing scrolls: element boxes, pointer and clips then share one frame.
const lab = await openLab({ width: 1400, height: 3400 });
try {
  const page = lab.page;
  await page.fill('#step-count', '60');
  await page.fill('#step-rate', '0');
  await page.click('#step-play');
  await page.waitForFunction(() => {
    const s = (globalThis as unknown as { sabLab: { step: { calls: unknown[]; busy: boolean } } }).sabLab.step;
    return s.calls.length >= 60 && !s.busy;
  }, null, { timeout: 120_000 });
  await page.fill('#step-size', '5000');
  await page.click('#step-malloc');
  await page.waitForFunction(() => (globalThis as unknown as { sabLab: { step: { calls: unknown[]; busy: boolean } } }).sabLab.step.calls.length >= 61, null, { timeout: 60_000 });
  await page.mouse.move(0, 0);
  await shoot(page, '#slow-motion', 'weblab-step.png');

  // A larson run: its live map, with the tooltip over the biggest small span.
  const view = await runInLab(page, { workload: 'larson', workers: '2', durationMs: 3000 });
  if (view.error) throw new Error(`larson run failed: ${view.error}`);
  let shown = false;
  for (const kind of ['central', 'in-use', 'transfer']) if (!shown) shown = await hoverSpan(page, 'live', 'map-live', kind);
  if (!shown) throw new Error('no small span on the live map to point at');
  const section = page.locator('#map-live').locator('xpath=ancestor::section');
  const box = (await section.boundingBox())!;
  const tip = (await page.locator('#tooltip').boundingBox())!;
  await page.screenshot({
    path: join(out, 'weblab-spanmap.png'),
    clip: { x: box.x, y: box.y, width: box.width, height: Math.max(box.height, tip.y + tip.height - box.y + 8) },
    fullPage: true,
  });
  console.log(`wrote ${join(out, 'weblab-spanmap.png')}`);
  await page.mouse.move(0, 0);
  await shoot(page, '#tl-events >> xpath=ancestor::section', 'weblab-overtime.png');
  await shoot(page, '#lock-queue >> xpath=ancestor::section', 'weblab-locks.png');
  if (lab.consoleErrors.length > 0) throw new Error(`console errors: ${lab.consoleErrors.join('; ')}`);
} finally {
  await lab.close();
}
