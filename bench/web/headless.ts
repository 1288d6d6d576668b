/**
 * Opens the web lab in headless Chromium and drives it as a person would: the shared
 * driver of test/lab/browser.test.ts and bench/web/compare.ts.
 *
 * The browser is the Chromium binary that ships inside the @sparticuz/chromium npm package
 * (nothing downloads at run time), launched by playwright-core with minimal arguments.
 * Not sparticuz's default arguments: those force single-process mode, disable site
 * isolation and switch SharedArrayBuffer on regardless, so the page would get
 * SharedArrayBuffer without being cross-origin isolated. Here it gets it only through the
 * server's COOP/COEP headers.
 *
 * Owns: one server, one browser and one page per openLab(); close() ends all three.
 */
import Chromium from '@sparticuz/chromium';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startLabServer, type LabServer } from './server.js';

/** The parts of the page's `window.sabLab` the drivers read (see page/main.ts). */
export interface LabView {
  state: string;
  error?: string;
  crossOriginIsolated: boolean;
  mainThreadCanBlock: boolean;
  runs: { workload: string; allocator: string; workers: number; throughput: number; ops: number; seconds: number; locks: Record<string, { acquisitions: number }> }[];
  checks: {
    ok: boolean;
    workers: number;
    inUseObjects: number;
    stats: { pageHeapFreeBytes: number; pageSize: number; locks: { central: { acquisitions: number } } };
  }[];
  lockPoints: { kind: string; workers: number; throughput: number; acquisitions: number; contendedFraction: number; jain: number }[];
  lastThroughput: { perWorker: number[]; total: number } | null;
  throughputPeak: number;
  lastLockRows: { tier: string; acquisitions: number }[];
  finalMap: {
    totalPages: number;
    metadataPages: number;
    committedPages: number;
    drawnOncePages: number;
    exact: boolean;
    counts: { metadata: number; free: number; small: number; large: number; unknown: number };
    pageSize: number;
  } | null;
  caches: { rows: number; nonEmptyRows: number; totalBytes: number } | null;
}

export interface OpenLab {
  server: LabServer;
  browser: Browser;
  page: Page;
  /** console errors and uncaught page errors, in order */
  consoleErrors: string[];
  close(): Promise<void>;
}

export async function openLab(viewport = { width: 1400, height: 1000 }): Promise<OpenLab> {
  const server = await startLabServer({ port: 0 });
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath: await Chromium.executablePath(),
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
      headless: true,
    });
    const page = await browser.newPage({ viewport });
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    await page.goto(server.url);
    await page.waitForFunction(labStateIn, ['idle', 'error'], { timeout: 60_000 });
    const b = browser;
    return { server, browser: b, page, consoleErrors, close: async () => (await b.close(), await server.close()) };
  } catch (e) {
    await browser?.close();
    await server.close();
    throw e;
  }
}

/** Runs in the page: is `window.sabLab.state` one of `states`? */
function labStateIn(states: string[]): boolean {
  const lab = (globalThis as unknown as { sabLab?: { state: string } }).sabLab;
  return lab !== undefined && states.includes(lab.state);
}

export function readLab(page: Page): Promise<LabView> {
  return page.evaluate(() => JSON.parse(JSON.stringify((globalThis as unknown as { sabLab: unknown }).sabLab)) as LabView);
}

/** Picks a workload ('locks' for the lock sweep), worker counts and window; runs; waits. */
export async function runInLab(page: Page, o: { workload: string; workers: string; durationMs: number; timeoutMs?: number }): Promise<LabView> {
  await page.selectOption('#workload', o.workload);
  await page.fill('#workers', o.workers);
  await page.fill('#duration', String(o.durationMs));
  await page.click('#run');
  await page.waitForFunction(labStateIn, ['done', 'error'], { timeout: o.timeoutMs ?? 240_000, polling: 200 });
  return readLab(page);
}
