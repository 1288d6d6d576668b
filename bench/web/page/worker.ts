/**
 * The lab's Web Worker: one role per worker (see protocol.ts). It runs the library, the
 * contention workloads and the lock hammer unchanged; only the thread id comes from the
 * page (setThreadId) since a browser has no worker_threads.
 *
 * Owns: at most one heap handle (monitor or runner) or one lock (hammer).
 *
 * Live counts: a runner wraps its adapter so every malloc/free also bumps this worker's
 * float64 counter in a shared array (one plain store on its own cache line) that the page
 * samples for throughput over time. That costs about a nanosecond per call; the results
 * the page exports use the workload's own counts, as the CLI's do.
 *
 * Invariant: a failing runner aborts the run's control block before it reports, so the
 * other runners stop instead of waiting at a barrier.
 */
import { heapPicture, setThreadId, SharedHeap, type HeapStats } from '../../../src/index.js';
import type { AllocatorAdapter, AllocatorSnapshot, MemorySample } from '../../contention/adapters/types.js';
import { SabmallocAdapter, createSabmallocHeap } from '../../contention/adapters/sabmalloc.js';
import { abortRun, controlViews } from '../../kit/control.js';
import { RAND_MASK, fillRandom, setTouchMode, workloadContext, type WorkerTask } from '../../contention/workloads/common.js';
import { workloadByName } from '../../contention/workloads/index.js';
import { hammer } from '../../locks/hammer.js';
import type { Lock, LockInit } from '../../../src/locks/index.js';
import { COUNT_STRIDE, type FromWorker, type StepCounters, type ToWorker } from './protocol.js';

interface WorkerScope {
  postMessage(message: FromWorker): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;

/** The runner's adapter: the library's own, plus a live operation counter. */
class CountingAdapter implements AllocatorAdapter {
  readonly buffer: SharedArrayBuffer;
  private readonly heap: SharedHeap;
  constructor(
    private readonly inner: SabmallocAdapter,
    private readonly counts: Float64Array,
    private readonly at: number,
  ) {
    this.heap = inner.heap;
    this.buffer = inner.buffer;
  }
  malloc(n: number): number {
    this.counts[this.at]++;
    return this.heap.malloc(n);
  }
  free(p: number): void {
    this.counts[this.at]++;
    this.heap.free(p);
  }
  detach(): void {
    this.inner.detach();
  }
  memory(): MemorySample {
    return this.inner.memory();
  }
  snapshot(): AllocatorSnapshot {
    return this.inner.snapshot();
  }
}

let monitor: SharedHeap | undefined;
let monitorAdapter: SabmallocAdapter | undefined;
const rand = new Uint32Array(RAND_MASK + 1);

function runTask(task: WorkerTask, counts: SharedArrayBuffer): void {
  const ctl = controlViews(task.ctl);
  let adapter: AllocatorAdapter | undefined;
  try {
    const def = workloadByName(task.workload);
    setTouchMode(task.touch);
    fillRandom(rand, (task.seed * 65_537 + task.worker) | 0);
    adapter = new CountingAdapter(new SabmallocAdapter(SharedHeap.attach(task.heap)), new Float64Array(counts), task.worker * COUNT_STRIDE);
    const outcome = def.run(workloadContext(task, adapter, ctl, rand));
    adapter.detach();
    adapter = undefined;
    scope.postMessage({ type: 'done', outcome });
  } catch (err) {
    abortRun(ctl);
    try {
      adapter?.detach();
    } catch {
      // the run's own failure is the one to report
    }
    throw err;
  }
}

/** Slow motion's heap: this worker is the only thread attached to it. */
let stepped: SharedHeap | undefined;

/** Answers a step: stats() first (it publishes this thread's free count), then the picture. */
function stepReply(ptr: number): FromWorker {
  const heap = stepped!;
  const s = heap.stats();
  const counters: StepCounters = {
    threadCacheHits: s.threadCacheHits,
    threadCacheMisses: s.threadCacheMisses,
    centralLockAcquisitions: s.locks.central.acquisitions,
    pageHeapLockAcquisitions: s.locks.pageHeap.acquisitions,
    growCount: s.growCount,
    smallSpanBytes: s.smallSpanBytes,
    largeBytes: s.largeBytes,
    inUseObjects: s.inUseObjects,
  };
  return { type: 'stepped', ptr, buffer: heap.buffer, picture: heapPicture(heap.buffer), counters };
}

function handle(msg: ToWorker): void {
  switch (msg.type) {
    case 'create': {
      setThreadId(msg.threadId);
      const instance = createSabmallocHeap(msg.spec, msg.sizing);
      monitorAdapter = instance.adapter as SabmallocAdapter;
      monitor = monitorAdapter.heap;
      scope.postMessage({ type: 'created', buffer: instance.buffer, stats: monitor.stats(), memory: monitorAdapter.memory() });
      return;
    }
    case 'stats':
      scope.postMessage({ type: 'stats', stats: heapOf().stats(), memory: monitorAdapter!.memory() });
      return;
    case 'check': {
      const heap = heapOf();
      const t0 = performance.now();
      let error: string | undefined;
      try {
        heap.check();
      } catch (e) {
        error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
      const checkMs = performance.now() - t0;
      const stats: HeapStats = heap.stats();
      scope.postMessage({ type: 'checked', ok: error === undefined, ...(error ? { error } : {}), checkMs, stats });
      return;
    }
    case 'dispose':
      monitor?.detach();
      monitor = undefined;
      monitorAdapter = undefined;
      scope.postMessage({ type: 'disposed' });
      return;
    case 'run':
      setThreadId(msg.threadId);
      runTask(msg.task, msg.counts);
      return;
    case 'step-open':
      setThreadId(msg.threadId);
      stepped = SharedHeap.create({ size: msg.size, maxSize: msg.maxSize });
      scope.postMessage(stepReply(0));
      return;
    case 'step': {
      if (!stepped) throw new Error('no slow-motion heap (send step-open first)');
      const ptr = msg.op === 'malloc' ? stepped.malloc(msg.size) : (stepped.free(msg.ptr), msg.ptr);
      scope.postMessage(stepReply(ptr));
      return;
    }
    case 'hammer':
      setThreadId(msg.threadId);
      if (msg.task.lockModule) {
        // A lock module the page loaded from a file (a blob: URL of this origin).
        const task = msg.task;
        import(/* @vite-ignore */ task.lockModule!).then(
          (mod: { create: (init: LockInit) => Lock }) => scope.postMessage({ type: 'hammered', result: hammer(task, (init) => mod.create(init)) }),
          (err: unknown) => scope.postMessage({ type: 'error', message: `lock module: ${err instanceof Error ? err.message : String(err)}` }),
        );
        return;
      }
      scope.postMessage({ type: 'hammered', result: hammer(msg.task) });
      return;
  }
}

function heapOf(): SharedHeap {
  if (!monitor) throw new Error('this worker holds no heap (send create first)');
  return monitor;
}

scope.onmessage = (e) => {
  try {
    handle(e.data);
  } catch (err) {
    const x = err as { message?: string; code?: string; name?: string };
    scope.postMessage({
      type: 'error',
      message: err instanceof Error ? (err.stack ?? err.message) : String(err),
      ...(typeof x?.code === 'string' ? { code: x.code } : {}),
      ...(typeof x?.name === 'string' ? { name: x.name } : {}),
    });
  }
};
