/**
 * The page's exports: its runs as the CLI's JSON files (bench/results/contention.json's and
 * locks.json's shapes), so they load into the same tools.
 *
 * Owns nothing: pure functions of the page's records, plus the download of a JSON blob.
 */
import { allocatorSpec } from '../../contention/allocators.js';
import { computeFigures, evaluateTargets } from '../../contention/figures.js';
import { WORKLOADS } from '../../contention/workloads/index.js';
import type { ContentionResults, RunRecord } from '../../contention/types.js';
import type { LockBenchReport } from '../../locks/sweep.js';
import { winners, type LockBenchPoint } from '../../locks/point.js';
import type { HeapRunConfig } from './runner.js';

const HC = navigator.hardwareConcurrency || 1;
/** Workloads the lab runs: the suite's single-round ones (mstress re-creates its workers). */
export const LAB_WORKLOADS = WORKLOADS.filter((w) => w.rounds(w.defaults) === 1 && !w.nodeOnly);

/** What the exports read of the page's state. */
export interface ExportSource {
  runs: RunRecord[];
  lockPoints: LockBenchPoint[];
  startedAt: string;
  lastConfig: HeapRunConfig | null;
  lastSweepDuration: number;
  /** repetitions of each point */
  reps: number;
  /** ns per critical-section body, by cs length */
  csNs: Record<number, number>;
}

function browserMeta(): { name: string; platform: string } {
  return { name: `browser: ${navigator.userAgent}`, platform: `${navigator.platform} (browser)` };
}

/** The contention suite's JSON (bench/results/contention.json's shape). */
export function benchResults(lab: ExportSource): ContentionResults | null {
  if (lab.runs.length === 0) return null;
  const workers = [...new Set(lab.runs.map((r) => r.workers))].sort((a, b) => a - b);
  const workloads = [...new Set(lab.runs.map((r) => r.workload))];
  const allocators = [...new Set(lab.runs.map((r) => r.allocator))];
  const figures = computeFigures(lab.runs, allocators);
  const allocatorLabels: Record<string, string> = {};
  for (const id of allocators) allocatorLabels[id] = allocatorSpec(id).label;
  const metrics: ContentionResults['meta']['metrics'] = {};
  for (const def of LAB_WORKLOADS.filter((d) => workloads.includes(d.name))) {
    metrics[def.name] = { name: def.metric.name, unit: def.metric.unit, higherIsBetter: def.metric.higherIsBetter, description: def.description };
  }
  const b = browserMeta();
  const last = lab.lastConfig;
  return {
    meta: {
      date: new Date().toISOString(),
      node: b.name,
      platform: b.platform,
      cpus: HC,
      cpuModel: 'unknown (browser)',
      totalMemoryBytes: ((navigator as { deviceMemory?: number }).deviceMemory ?? 0) * 2 ** 30,
      loadAverageStart: [],
      loadAverageEnd: [],
      wallSeconds: (Date.now() - Date.parse(lab.startedAt)) / 1000,
      command: 'web lab (npm run lab:web)',
      options: {
        workers,
        workloads,
        allocators,
        durationMs: last?.durationMs ?? 0,
        reps: lab.reps,
        quick: false,
        scale: last?.scale ?? 'default',
        seed: last?.seed ?? 0,
        preallocate: last?.preallocate ?? false,
        touch: last?.touch ?? 'sparse',
        params: {},
      },
      allocatorLabels,
      metrics,
    },
    runs: lab.runs,
    figures,
    targets: evaluateTargets(figures, { workers, workloads, allocators }),
  };
}

/** The lock benchmark's JSON (bench/results/locks.json's shape). */
export function lockResults(lab: ExportSource): LockBenchReport | null {
  if (lab.lockPoints.length === 0) return null;
  const b = browserMeta();
  const pts = lab.lockPoints;
  return {
    machine: { cpus: HC, cpuModel: 'unknown (browser)', node: b.name, platform: b.platform },
    options: {
      kinds: [...new Set(pts.map((p) => p.kind))],
      policies: ['default'],
      workers: [...new Set(pts.map((p) => p.workers))],
      csWrites: [...new Set(pts.map((p) => p.csWrites))],
      outsideWork: pts[0]!.outsideWork,
      durationMs: lab.lastSweepDuration,
      reps: lab.reps,
      quick: false,
      validate: false,
      uncontended: false,
      name: 'locks-web',
    },
    startedAt: lab.startedAt,
    csNs: lab.csNs,
    entries: [...new Map(pts.map((p) => [p.name ?? p.kind, { name: p.name ?? p.kind, kind: p.kind, policy: p.policy ?? null }])).values()],
    uncontended: [],
    points: pts,
    validation: [],
    deaths: [], // the dead-thread pass is the CLI's (--validate), not the page's
    files: [],
    // written into the CLI's locks.json as well (see bench/locks.ts writeResults)
    ...{ winners: winners(pts) },
  };
}

export function download(name: string, data: unknown): void {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

