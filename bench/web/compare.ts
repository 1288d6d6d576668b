/**
 * The same workloads in the browser and in Node on this machine, side by side: the web lab
 * in headless Chromium (bench/web/headless.ts) and the CLI's own code in Node (the
 * contention suite and the lock benchmark), interleaved repetition by repetition so that
 * load from other processes hits both alike. Prints a Markdown table and writes it to
 * bench/results/lab-web-compare.md.
 *
 *   node dist/bench/web/compare.js [--workers 2,8] [--duration 1000] [--reps 3]
 *
 * Both sides run cold: fresh workers per run in the page, a fresh pool per repetition and
 * no warm-up run in Node. The page's runners also bump a live counter per call (see
 * page/worker.ts); Node's do not.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { runContentionSuite } from '../contention/suite.js';
import { runLockBench } from '../locks/sweep.js';
import { LOCK_KINDS } from '../../src/locks/index.js';
import { packageRoot } from './build.js';
import { openLab, runInLab } from './headless.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0));

const workers = arg('workers', '2,8').split(',').map(Number);
const durationMs = Number(arg('duration', '1000'));
const reps = Number(arg('reps', '3'));
const workloads = ['ring', 'larson', 'threadtest'];
const loadStart = loadavg();
const started = Date.now();

/** key -> [browser figures, node figures] */
const figures = new Map<string, [number[], number[]]>();
const note = (key: string, side: 0 | 1, x: number): void => {
  if (!figures.has(key)) figures.set(key, [[], []]);
  figures.get(key)![side].push(x);
};

const lab = await openLab();
let browserName = '';
try {
  browserName = /Chrome\/[\d.]+/.exec(lab.browser.version() ? `Chrome/${lab.browser.version()}` : '')?.[0] ?? 'Chromium';
  for (let rep = 0; rep < reps; rep++) {
    for (const w of workloads) {
      const before = (await lab.page.evaluate(() => (globalThis as unknown as { sabLab: { runs: unknown[] } }).sabLab.runs.length)) as number;
      const view = await runInLab(lab.page, { workload: w, workers: workers.join(','), durationMs });
      if (view.error) throw new Error(`browser ${w}: ${view.error}`);
      for (const r of view.runs.slice(before)) note(`${w}|${r.workers}`, 0, r.throughput);
      const node = await runContentionSuite({ workloads: [w], workers, allocators: ['sabmalloc'], durationMs, reps: 1, warmup: false, progress: false });
      if (node.failures.length > 0) throw new Error(`node ${w}: ${node.failures[0]!.error}`);
      for (const r of node.runs) note(`${w}|${r.workers}`, 1, r.throughput);
      process.stderr.write(`rep ${rep + 1}/${reps} ${w} done\n`);
    }
    const before = (await lab.page.evaluate(() => (globalThis as unknown as { sabLab: { lockPoints: unknown[] } }).sabLab.lockPoints.length)) as number;
    const view = await runInLab(lab.page, { workload: 'locks', workers: workers.join(','), durationMs: Math.min(durationMs, 500) });
    if (view.error) throw new Error(`browser lock sweep: ${view.error}`);
    for (const p of view.lockPoints.slice(before)) note(`lock ${p.kind}|${p.workers}`, 0, p.throughput);
    const node = await runLockBench({ kinds: LOCK_KINDS, workers, csWrites: [4], durationMs: Math.min(durationMs, 500), reps: 1, uncontended: false, outDir: null, print: false, progress: () => undefined });
    for (const p of node.points) note(`lock ${p.kind}|${p.workers}`, 1, p.throughput);
    process.stderr.write(`rep ${rep + 1}/${reps} lock sweep done\n`);
  }
} finally {
  await lab.close();
}

const rows = [...figures].map(([key, [b, n]]) => {
  const [what, w] = key.split('|');
  const mb = median(b);
  const mn = median(n);
  return `| ${what} | ${w} | ${fmt(mb)} | ${fmt(mn)} | ${(mb / mn).toFixed(2)} |`;
});
const table = [
  `| workload | workers | browser (${browserName}) | Node ${process.version} | browser / Node |`,
  '| --- | ---: | ---: | ---: | ---: |',
  ...rows,
].join('\n');
const text =
  `# Web lab: the same workloads in the browser and in Node\n\n` +
  `\`node dist/bench/web/compare.js --workers ${workers.join(',')} --duration ${durationMs} --reps ${reps}\` ` +
  `(${new Date(started).toISOString()}, ${((Date.now() - started) / 1000).toFixed(0)} s; load average ${loadStart[0]!.toFixed(1)} at the start, ` +
  `${loadavg()[0]!.toFixed(1)} at the end). Medians of ${reps} interleaved repetitions; allocator workloads in malloc+free calls/s ` +
  `(default sabmalloc heap, ${durationMs} ms windows, the CLI's default parameters), lock kinds in acquisitions/s ` +
  `(critical section of 4 shared writes, ${Math.min(durationMs, 500)} ms).\n\n${table}\n`;
writeFileSync(join(packageRoot(), 'bench', 'results', 'lab-web-compare.md'), text);
console.log(text);
