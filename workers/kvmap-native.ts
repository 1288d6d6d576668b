/**
 * Worker of the postMessage key-value map (bench/contention/kvmap-native.ts): its own
 * Map, the kvmap operation mix, writes and deletes replicated to every peer in batches.
 *
 * Owns: its Map and its ports. Replication order: a peer's batches arrive in order on one
 * port; this worker applies each as it arrives. Writes to one key from two workers in the
 * same window are applied in different orders on different replicas (last writer on each
 * replica wins), so replicas can disagree on such keys' values; they agree once the run
 * is quiet only if no key was written concurrently, which the report does not assume.
 * Every value is verified when read or replaced (its stamped words hold its tag).
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { NativeKvOutcome, NativeKvTask } from '../bench/contention/kvmap-native.js';
import { fillRandom, RAND_MASK } from '../bench/contention/workloads/common.js';
import { TAG_STEP, tagBase } from '../bench/kit/stamp.js';
import { opOf } from '../bench/contention/workloads/kvmap.js';
import { sizeTable, SIZE_TABLE } from '../bench/contention/workloads/mixes.js';

const task = workerData as NativeKvTask;
const p = task.params;
const map = new Map<number, Int32Array>();
const rand = fillRandom(new Uint32Array(RAND_MASK + 1), (task.seed * 65_537 + task.worker) | 0);
const sizes = sizeTable(rand, task.worker * 733, 'loguniform', p.valMin, p.valMax);
const peers = task.ports.filter((x): x is MessagePort => x !== undefined && x !== null);
let applied = 0;
let ended = 0;

/** A value of n bytes stamped like kvmap's blocks (first, last, every 16th word). */
function makeValue(n: number, tag: number): Int32Array {
  const v = new Int32Array(Math.max(2, n >>> 2));
  if (v.length <= 32) v.fill(tag);
  else {
    for (let i = 0; i < v.length; i += 16) v[i] = tag;
    v[v.length - 1] = tag;
  }
  return v;
}
function check(k: number, v: Int32Array): void {
  const tag = v[0];
  const m = ((v.length - 1) >>> 5) << 4;
  if (v[v.length - 1] !== tag || v[m] !== tag) throw new Error(`kvmap-native: value of key ${k} corrupted (tag ${tag})`);
}

/** Outgoing batch: [op, key, words, ...value words] records; op 1 write, 2 delete, 3 end. */
let out = new Int32Array(4096);
let used = 0;
function record(op: number, k: number, v: Int32Array | null): void {
  const words = v ? v.length : 0;
  if (used + 3 + words > out.length) {
    const bigger = new Int32Array(Math.max(out.length * 2, used + 3 + words));
    bigger.set(out.subarray(0, used));
    out = bigger;
  }
  out[used] = op;
  out[used + 1] = k;
  out[used + 2] = words;
  if (v) out.set(v, used + 3);
  used += 3 + words;
}
function flush(): void {
  if (used === 0) return;
  const buf = out.slice(0, used);
  used = 0;
  if (peers.length === 1) peers[0].postMessage(buf, [buf.buffer]);
  else for (const q of peers) q.postMessage(buf);
}

function apply(buf: Int32Array): void {
  let i = 0;
  while (i < buf.length) {
    const op = buf[i];
    const k = buf[i + 1];
    const words = buf[i + 2];
    if (op === 1) {
      const v = buf.slice(i + 3, i + 3 + words);
      check(k, v);
      const old = map.get(k);
      if (old) check(k, old);
      map.set(k, v);
    } else if (op === 2) map.delete(k);
    else ended++;
    i += 3 + words;
    applied++;
  }
}
for (const q of peers) q.on('message', apply);

async function main(): Promise<void> {
  let tag = tagBase(task.worker, 0);
  let si = 0;
  const prefill = Math.floor((p.keys * p.prefill) / 100);
  for (let k = 0; k < prefill; k++) {
    tag = (tag + TAG_STEP) | 0;
    map.set(k, makeValue(sizes[si++ & (SIZE_TABLE - 1)], tag));
  }
  const bar = new Int32Array(task.barrier);
  if (Atomics.add(bar, 0, 1) + 1 === task.workers) Atomics.notify(bar, 0);
  while (Atomics.load(bar, 0) < task.workers) Atomics.wait(bar, 0, Atomics.load(bar, 0), 1000);
  const t0 = performance.now();
  const deadline = t0 + task.durationMs;
  let ri = (task.worker * 40503) & RAND_MASK;
  let ops = 0;
  while (performance.now() < deadline) {
    for (let j = 0; j < task.batch; j++, ops++) {
      const r = rand[ri];
      ri = (ri + 1) & RAND_MASK;
      const k = (r & 0xffff) % p.keys;
      const op = opOf(r >>> 16, p);
      if (op === 0) {
        const v = map.get(k);
        if (v) check(k, v);
      } else if (op === 1) {
        tag = (tag + TAG_STEP) | 0;
        const v = makeValue(sizes[si++ & (SIZE_TABLE - 1)], tag);
        const old = map.get(k);
        if (old) check(k, old);
        map.set(k, v);
        record(1, k, v);
      } else {
        map.delete(k);
        record(2, k, null);
      }
    }
    flush();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const seconds = (performance.now() - t0) / 1000;
  record(3, 0, null);
  flush();
  while (ended < peers.length) await new Promise<void>((resolve) => setImmediate(resolve));
  let digest = 0;
  for (const [k, v] of map) digest = (digest + k * 31 + v.length) % 2147483647;
  const result: NativeKvOutcome = { ops, seconds, applied, size: map.size, digest };
  parentPort!.postMessage(result);
  for (const q of peers) q.close();
}
void main();
