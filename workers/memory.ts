/**
 * Child process of the RSS benchmark (bench/memory/rss.ts starts one per configuration, so
 * every measurement is a fresh process) and its worker threads.
 *
 *   node --expose-gc dist/workers/memory.js '{"pattern":"churn","workers":4,...}'
 *
 * The process's main thread: starts the worker threads, lets each warm up (loads the
 * modules, compiles the pattern and the allocator's paths on a small throw-away heap,
 * allocates and writes its bookkeeping arrays), collects garbage, then reads its resident
 * set (VmRSS, /proc/self/status) as the baseline and resets the kernel's peak (VmHWM, by
 * writing 5 to /proc/self/clear_refs). Only then does it create the measured heap; the
 * workers attach, meet at a barrier and run the pattern. Afterwards, with every worker
 * still attached and idle (quiescence), it reads VmHWM, the heap's stats() and, where the
 * build has it, memoryReport(), and prints one JSON line.
 *
 * Owns: the process. Peak RSS growth = VmHWM - baseline: everything the process made
 * resident after the baseline, the allocator's pages and metadata and whatever the engine
 * added meanwhile (JIT code, GC heap growth), which is why the patterns allocate no JS
 * memory while they run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { SharedHeap } from '../src/index.js';
import { fillBoard, larsonWords, makeBooks, runPattern, SHARED_WORDS, type Books, type PatternContext, type PatternName } from '../bench/memory/patterns.js';

export interface MemoryRunConfig {
  pattern: PatternName;
  workers: number;
  /** Live bytes each worker aims for. */
  liveBytes: number;
  ops: number;
  seed: number;
  /** Heap options beyond the defaults (thread-cache budgets, page size). */
  heap: { threadCacheBudget?: number; threadCacheThreadBudget?: number; pageSize?: number };
}

const MIB = 2 ** 20;
const WARM_DIVISOR = 32;
const BARRIER_WORD = 1;

interface WorkerInput {
  cfg: MemoryRunConfig;
  index: number;
  shared: SharedArrayBuffer;
  larson: SharedArrayBuffer;
  warm: SharedArrayBuffer;
}

function statusKiB(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function heapOptions(cfg: MemoryRunConfig, size: number, maxSize: number): Parameters<typeof SharedHeap.create>[0] {
  return { size, maxSize, ...cfg.heap };
}

function context(cfg: MemoryRunConfig, heap: SharedHeap, index: number, shared: SharedArrayBuffer, larson: SharedArrayBuffer, books: Books, scale: number): PatternContext {
  const buffer = heap.buffer;
  return {
    heap,
    reattach: () => {
      heap.detach();
      heap = SharedHeap.attach(buffer);
      return heap;
    },
    u8: new Uint8Array(buffer, 0, buffer.byteLength),
    shared: new Int32Array(shared, 0, SHARED_WORDS),
    worker: index,
    workers: cfg.workers,
    liveBytes: Math.floor(cfg.liveBytes / scale),
    ops: Math.floor(cfg.ops / scale),
    seed: cfg.seed + scale,
    books,
    larson: new Float64Array(larson, 0, larson.byteLength / 8),
  };
}

function barrier(shared: Int32Array, parties: number): void {
  Atomics.add(shared, BARRIER_WORD, 1);
  for (let v = Atomics.load(shared, BARRIER_WORD); v < parties; v = Atomics.load(shared, BARRIER_WORD)) {
    Atomics.wait(shared, BARRIER_WORD, v, 50);
  }
  Atomics.notify(shared, BARRIER_WORD);
}

function workerThread(input: WorkerInput): void {
  const { cfg, index, shared, larson } = input;
  const books = makeBooks(cfg.pattern, cfg.liveBytes);
  // Written now, so their pages are resident before the baseline.
  books.ptr.fill(1).fill(0);
  books.size.fill(1).fill(0);
  const warm = SharedHeap.attach(input.warm);
  runPattern(cfg.pattern, context(cfg, warm, index, shared, larson, books, WARM_DIVISOR));
  books.ptr.fill(0);
  books.size.fill(0);
  gc();
  parentPort!.postMessage('ready');
  parentPort!.once('message', (buffer: SharedArrayBuffer) => {
    const engineBefore = getHeapStatistics().total_physical_size;
    const heap = SharedHeap.attach(buffer);
    const i32 = new Int32Array(shared, 0, SHARED_WORDS);
    barrier(i32, cfg.workers);
    const peak = runPattern(cfg.pattern, context(cfg, heap, index, shared, larson, books, 1));
    parentPort!.postMessage({ peak, engineGrowth: getHeapStatistics().total_physical_size - engineBefore });
  });
}

function collect(workers: Worker[], what: (m: unknown) => boolean): Promise<unknown[]> {
  return Promise.all(
    workers.map(
      (w) =>
        new Promise<unknown>((resolve, reject) => {
          const onMessage = (m: unknown): void => {
            if (!what(m)) return;
            w.off('message', onMessage);
            resolve(m);
          };
          w.on('message', onMessage);
          w.once('error', reject);
        }),
    ),
  );
}

/** The child process: warm-up, baseline, measured run, one JSON line on stdout. */
async function child(cfg: MemoryRunConfig): Promise<void> {
  const shared = new SharedArrayBuffer(SHARED_WORDS * 4);
  const larson = new SharedArrayBuffer(Math.max(8, cfg.pattern === 'larson' ? larsonWords(cfg.liveBytes, cfg.workers) * 8 : 8));
  const sharedI32 = new Int32Array(shared, 0, SHARED_WORDS);
  const larsonF64 = new Float64Array(larson, 0, larson.byteLength / 8);
  larsonF64.fill(1).fill(0);
  const warm = SharedHeap.create(heapOptions(cfg, 8 * MIB, 256 * MIB));
  const scratchBooks = makeBooks(cfg.pattern, 1);
  if (cfg.pattern === 'larson') fillBoard(context(cfg, warm, 0, shared, larson, scratchBooks, WARM_DIVISOR));
  const url = new URL(import.meta.url);
  const workers: Worker[] = [];
  for (let i = 0; i < cfg.workers; i++) {
    const input: WorkerInput = { cfg, index: i, shared, larson, warm: warm.buffer };
    workers.push(new Worker(url, { workerData: input }));
  }
  await collect(workers, (m) => m === 'ready');
  sharedI32.fill(0);
  larsonF64.fill(0);
  gc();
  await new Promise((r) => setTimeout(r, 100));
  const engineBefore = getHeapStatistics().total_physical_size;
  const baselineKiB = statusKiB('VmRSS');
  const peakReset = resetPeak();
  const started = performance.now();
  const heap = SharedHeap.create(heapOptions(cfg, 16 * MIB, 2048 * MIB));
  if (cfg.pattern === 'larson') fillBoard(context(cfg, heap, 0, shared, larson, scratchBooks, 1));
  const done = collect(workers, (m) => typeof m === 'object' && m !== null && 'peak' in m);
  for (const w of workers) w.postMessage(heap.buffer);
  const peaks = (await done) as { peak: number; engineGrowth: number }[];
  const engineGrowth = getHeapStatistics().total_physical_size - engineBefore + peaks.reduce((a, p) => a + p.engineGrowth, 0);
  const ms = performance.now() - started;
  const hwmKiB = statusKiB('VmHWM');
  const endKiB = statusKiB('VmRSS');
  const stats = heap.stats();
  const requestedBytes = Atomics.load(sharedI32, 0);
  const report = (heap as unknown as { memoryReport?: (o: object) => unknown }).memoryReport?.({ requestedBytes });
  const peakLive = Math.max(...peaks.map((p) => p.peak), 0);
  const out = {
    pattern: cfg.pattern,
    workers: cfg.workers,
    peakReset,
    baselineBytes: baselineKiB * 1024,
    peakRssGrowth: (hwmKiB - baselineKiB) * 1024,
    endRssGrowth: (endKiB - baselineKiB) * 1024,
    // Net change of the JS heaps of every isolate over the run (V8's physical size; a GC
    // that gives back warm-up garbage makes it negative): resident, not the allocator's.
    engineGrowth,
    peakLive,
    committed: stats.committedBytes,
    metadata: stats.metadataBytes,
    threadCaches: stats.threadCacheFreeBytes,
    transferCaches: stats.transferCacheFreeBytes,
    spanFree: stats.centralCacheFreeBytes,
    inUse: stats.inUseBytes,
    ms,
    report: report ?? null,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

if (isMainThread) {
  await child(JSON.parse(process.argv[2] ?? '{}') as MemoryRunConfig);
} else {
  workerThread(workerData as WorkerInput);
}
