/**
 * Worker of the "own isolate" rows of `sabmalloc micro` (bench/micro/micro.ts): one contender of
 * the malloc(64)+free pair, alone in a fresh isolate.
 *
 * Owns: its one contender (a sabmalloc heap, hardened or `hardening: false`, a @thi.ng/malloc
 * pool, or the typed-array floor), built here, measured by tinybench with the same settings
 * and the same loop source as the one-process rows; tinybench's warm-up runs first, so the
 * timed samples see compiled code, as a user's warmed-up worker does. Nothing else runs
 * through the allocator's code in this isolate. Posts the task's latency figures (ms per
 * sample of PAIR_OPS pairs), or a string saying why the contender is unavailable.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { SharedHeap } from '../src/index.js';
import { benchOptions, floorTask, pairTask, thingPools, type IsolatedContender } from '../bench/micro/micro.js';

const { contender, quick } = workerData as { contender: IsolatedContender; quick: boolean };
const HEAP_BYTES = 64 * 1024 * 1024;

async function task(): Promise<(() => void) | string> {
  if (contender === 'floor') return floorTask();
  if (contender === 'thingPair') {
    const pools = await thingPools();
    return typeof pools === 'string' ? pools : pairTask(pools());
  }
  return pairTask(SharedHeap.create({ size: HEAP_BYTES, hardening: contender === 'pair' }));
}

const fn = await task();
if (typeof fn === 'string') {
  parentPort!.postMessage(fn);
} else {
  const bench = new Bench(benchOptions(quick));
  bench.add(contender, fn);
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (r.state !== 'completed') throw new Error(`micro worker ${contender}: ${r.state === 'errored' ? r.error.message : r.state}`);
  parentPort!.postMessage({ p50: r.latency.p50, mean: r.latency.mean, rme: r.latency.rme, samples: r.latency.samplesCount });
}
