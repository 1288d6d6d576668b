/**
 * Where sabmalloc's committed bytes are at the committed peak of larson / mstress runs of
 * the contention suite: per run, metadata and the pages below the
 * high-water mark split into live blocks, thread caches, transfer caches, free objects in
 * partly used spans, span tails and free spans (holes), next to the run's peak live bytes.
 *
 *   sabmalloc memory breakdown [--workloads mstress] [--workers 1,2] [--reps 3]   (command.ts)
 *
 * Reads the suite's own records (RunRecord.memoryAtPeak), so it measures exactly what the
 * suite measures. Owns nothing.
 */
import { runContentionSuite } from '../contention/suite.js';

const kib = (n: number): string => (n / 1024).toFixed(0).padStart(6);

export interface BreakdownOptions {
  workloads: string[];
  workers: number[];
  reps: number;
}

/** Runs the suite's sabmalloc runs and prints where the committed bytes are at each peak. */
export async function printBreakdown({ workloads, workers, reps }: BreakdownOptions): Promise<boolean> {
  const r = await runContentionSuite({ workloads, workers, reps, allocators: ['sabmalloc'], progress: false, warmup: true });
  const cols = ['committed', 'metadata', 'touched', 'live', 'threadCaches', 'transferCaches', 'spanFreeObjects', 'spanTails', 'holes'] as const;
  console.log(`KiB at the committed peak; "peak live" and "blowup" are the run's figures\n`);
  console.log(['workload', 'w', 'rep', 'blowup', 'peak live', ...cols].map((c) => c.padStart(8)).join(' '));
  for (const run of r.runs) {
    const m = run.memoryAtPeak;
    if (!m) continue;
    console.log(
      [run.workload.padStart(8), String(run.workers).padStart(8), String(run.rep).padStart(8), run.blowup.toFixed(2).padStart(8), kib(run.peakLiveBytes).padStart(8), ...cols.map((c) => kib(m[c]).padStart(8)), ` free spans (count x pages, incl. the tail): ${m.holeSpans}`].join(' '),
    );
  }
  if (r.failures.length > 0) console.error(r.failures);
  return r.failures.length === 0;
}

