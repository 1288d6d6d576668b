/**
 * Where sabmalloc's committed bytes are at the committed peak of larson / mstress runs of
 * the contention suite (issue 9's blowup target): per run, metadata and the pages below the
 * high-water mark split into live blocks, thread caches, transfer caches, free objects in
 * partly used spans, span tails and free spans (holes), next to the run's peak live bytes.
 *
 *   node dist/bench/blowup-breakdown.js [--workloads mstress] [--workers 1,2] [--reps 3]
 *
 * Reads the suite's own records (RunRecord.memoryAtPeak), so it measures exactly what the
 * suite measures. Owns nothing.
 */
import { runContentionSuite } from './contention/suite.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const kib = (n: number): string => (n / 1024).toFixed(0).padStart(6);

async function main(): Promise<void> {
  const workloads = arg('workloads', 'mstress').split(',');
  const workers = arg('workers', '1,2').split(',').map(Number);
  const reps = Number(arg('reps', '3'));
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
  if (r.failures.length > 0) {
    console.error(r.failures);
    process.exitCode = 1;
  }
}

await main();
