/**
 * User-access benchmark: how fast a user's workers read and write the memory the
 * heap hands out, against the same loop over a plain SharedArrayBuffer.
 *
 * Owns nothing shared: every run makes its own buffer (a plain 64 MiB SharedArrayBuffer,
 * a fixed 64 MiB heap, or a heap of 1 MiB growable to 64 MiB that has grown once) and its
 * own fresh workers (workers/user-access.ts), 1 or 2 of them, each bumping one byte
 * of each of its 4,096 blocks per round. Workers warm their loop up untimed, meet at a
 * barrier, then count rounds for a fixed time; throughput = sum of accesses / time.
 *
 * Targets: the README's way (`new Uint8Array(heap.buffer)`) >= 0.8x the plain buffer at
 * 1 and 2 workers, fixed and growable; >= 1.6x from 1 to 2 workers.
 */
import { Worker } from 'node:worker_threads';
import { SharedHeap } from '../../src/index.js';
import { workerUrl } from '../kit/worker-url.js';

import type { UserAccessTask } from './user-access-task.js';

export interface UserAccessRow {
  buffer: 'plain' | 'fixed heap' | 'growable heap';
  mode: 'view' | 'typed';
  workers: number;
  /** million accesses per second, all workers together */
  mAccessesPerSec: number;
}

export interface UserAccessResult {
  rows: UserAccessRow[];
  /** per (buffer, mode): throughput / plain at the same worker count */
  vsPlain: { buffer: string; mode: string; workers: number; ratio: number }[];
  /** per (buffer, mode): 2-worker / 1-worker throughput */
  scaling: { buffer: string; mode: string; ratio: number }[];
  targets: { vsPlain: number; scaling: number };
  warmMs: number;
  timeMs: number;
  /** runs per row (the row is their median) */
  reps: number;
}

const MIB = 2 ** 20;
export const USER_ACCESS_TARGETS = { vsPlain: 0.8, scaling: 1.6 };

function makeBuffer(kind: UserAccessRow['buffer']): { buffer: SharedArrayBuffer; heap: SharedHeap | null } {
  if (kind === 'plain') return { buffer: new SharedArrayBuffer(64 * MIB), heap: null };
  if (kind === 'fixed heap') {
    const heap = SharedHeap.create({ size: 64 * MIB });
    return { buffer: heap.buffer, heap };
  }
  const heap = SharedHeap.create({ size: 1 * MIB, maxSize: 64 * MIB });
  heap.free(heap.malloc(4 * MIB)); // it has grown before the workers start
  return { buffer: heap.buffer, heap };
}

async function runOnce(kind: UserAccessRow['buffer'], mode: UserAccessRow['mode'], workers: number, warmMs: number, timeMs: number): Promise<number> {
  const { buffer, heap } = makeBuffer(kind);
  const control = new SharedArrayBuffer(8);
  const ctl = new Int32Array(control);
  const url = workerUrl('user-access');
  const results: Promise<{ accesses: number; ms: number }>[] = [];
  const ws: Worker[] = [];
  for (let w = 0; w < workers; w++) {
    const task: UserAccessTask = { buffer, heap: heap !== null, mode, index: w, control, warmMs, timeMs };
    const worker = new Worker(url, { workerData: task });
    ws.push(worker);
    results.push(
      new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      }),
    );
  }
  while (Atomics.load(ctl, 0) < workers) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(ctl, 1, 1);
  Atomics.notify(ctl, 1);
  const got = await Promise.all(results);
  await Promise.all(ws.map((w) => w.terminate()));
  heap?.check();
  heap?.detach();
  const ms = Math.max(...got.map((g) => g.ms));
  return got.reduce((a, g) => a + g.accesses, 0) / ms / 1000;
}

export async function runUserAccess(opts: { quick?: boolean; modes?: UserAccessRow['mode'][] } = {}): Promise<UserAccessResult> {
  const warmMs = opts.quick ? 50 : 300;
  const timeMs = opts.quick ? 100 : 600;
  const modes = opts.modes ?? ['view', 'typed'];
  const configs: [UserAccessRow['buffer'], UserAccessRow['mode']][] = [['plain', 'view']];
  for (const b of ['fixed heap', 'growable heap'] as const) for (const m of modes) configs.push([b, m]);
  const reps = opts.quick ? 1 : 3;
  const samples = new Map<string, number[]>();
  // Interleaved: every config once at 1 worker, then at 2, and that `reps` times, so a burst
  // of other work on the machine hits neighbouring rows alike; each row is the median.
  for (let rep = 0; rep < reps; rep++) {
    for (const workers of [1, 2]) {
      for (const [buffer, mode] of configs) {
        const key = `${buffer}|${mode}|${workers}`;
        samples.set(key, [...(samples.get(key) ?? []), await runOnce(buffer, mode, workers, warmMs, timeMs)]);
      }
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const rows: UserAccessRow[] = [];
  for (const workers of [1, 2]) {
    for (const [buffer, mode] of configs) rows.push({ buffer, mode, workers, mAccessesPerSec: median(samples.get(`${buffer}|${mode}|${workers}`)!) });
  }
  const at = (b: string, m: string, w: number): number => rows.find((r) => r.buffer === b && r.mode === m && r.workers === w)!.mAccessesPerSec;
  const vsPlain = rows.filter((r) => r.buffer !== 'plain').map((r) => ({ buffer: r.buffer, mode: r.mode, workers: r.workers, ratio: r.mAccessesPerSec / at('plain', 'view', r.workers) }));
  const scaling = configs.map(([b, m]) => ({ buffer: b, mode: m, ratio: at(b, m, 2) / at(b, m, 1) }));
  return { rows, vsPlain, scaling, targets: USER_ACCESS_TARGETS, warmMs, timeMs, reps };
}

/** The table and its ratios; the project's own targets and their status only with `targets`. */
export function userAccessMarkdown(r: UserAccessResult, targets = false): string[] {
  const label = (b: string, m: string): string =>
    b === 'plain' ? 'plain SharedArrayBuffer, `new Uint8Array(buf)`' : `${b}, ${m === 'view' ? '`new Uint8Array(heap.buffer)` (README)' : "`heap.mallocAs('u8', 64)` views"}`;
  const lines = [
    `User access (bump one byte of each of 4,096 blocks per round; fresh workers, ${r.warmMs} ms untimed warm-up, then ${r.timeMs} ms timed after a barrier; median of ${r.reps} interleaved run(s)):`,
    '',
    '| memory, access | workers | M accesses/s | vs plain | 1 -> 2 workers |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const row of r.rows) {
    const vs = r.vsPlain.find((v) => v.buffer === row.buffer && v.mode === row.mode && v.workers === row.workers);
    const sc = row.workers === 2 ? r.scaling.find((s) => s.buffer === row.buffer && s.mode === row.mode) : undefined;
    lines.push(`| ${label(row.buffer, row.mode)} | ${row.workers} | ${row.mAccessesPerSec.toFixed(1)} | ${vs ? `${vs.ratio.toFixed(2)}x` : '-'} | ${sc ? `${sc.ratio.toFixed(2)}x` : ''} |`);
  }
  const view = r.vsPlain.filter((v) => v.mode === 'view');
  const viewScaling = r.scaling.filter((s) => s.mode === 'view' && s.buffer !== 'plain');
  const viewRatios = `The README's way vs a plain buffer: ${view.map((v) => `${v.buffer} @${v.workers} ${v.ratio.toFixed(2)}x`).join(', ')}; 1 -> 2 workers: ${viewScaling.map((s) => `${s.buffer} ${s.ratio.toFixed(2)}x`).join(', ')}.`;
  lines.push('', viewRatios);
  if (targets) {
    lines.push(
      `Project targets: vs plain >= ${r.targets.vsPlain}x ${view.every((v) => v.ratio >= r.targets.vsPlain) ? 'met' : 'MISSED'}; ` +
        `scaling >= ${r.targets.scaling}x ${viewScaling.every((s) => s.ratio >= r.targets.scaling) ? 'met' : 'MISSED'}.`,
    );
  }
  return lines;
}

if (process.argv[1]?.endsWith('user-access.js')) {
  const r = await runUserAccess({ quick: process.argv.includes('--quick'), modes: process.argv.includes('--view-only') ? ['view'] : undefined });
  console.log(userAccessMarkdown(r).join('\n'));
}
