/**
 * The lab's programmatic API: everything the `sabmalloc` lab commands do, as functions, for
 * scripts in a clone of the repository. `import { ... } from 'sabmalloc-lab'` resolves here
 * (dist/bench/lab.js) through the bench/cli workspace after `npm ci`; the published
 * `sabmalloc` package does not contain the lab.
 *
 *   const spec = await loadAllocatorModule('./my-alloc.js');   // your allocator
 *   const results = await runContentionSuite({ quick: true, allocators: ['sabmalloc', spec.id] });
 *   await writeReport(results, 'my-results', 'mine'); writeResultsCsv(results, 'my-results', 'mine');
 *
 *   const kind = await loadLockModule('./my-lock.js');         // your lock
 *   await runLockBench({ quick: true, kinds: ['ttas', kind as LockKind], outDir: 'my-results' });
 *
 * Owns: nothing; a list of re-exports, so the API has one place to be read from.
 */
export { runContentionSuite, recomputeResults, type SuiteResults } from './contention/suite.js';
export { writeReport, formatSummary } from './contention/report.js';
export { writeResultsCsv, figuresCsv, runsCsv } from './contention/csv.js';
export { DEFAULT_ALLOCATORS, QUICK_ALLOCATORS, allocatorSpec } from './contention/allocators.js';
export { WORKLOADS, WORKLOAD_NAMES } from './contention/workloads/index.js';
export type { ContentionOptions, Figure, RunRecord, Spread } from './contention/types.js';
export { loadAllocatorModule, AllocatorModuleError, type AllocatorModule, type ModuleAdapter } from './contention/adapters/module.js';
export type { AllocatorAdapter, AllocatorSnapshot, HeapSizing, MemorySample } from './contention/adapters/types.js';
export { runLockBench, replotLockBench, LockValidationError, type LockBenchOptions, type LockBenchReport } from './locks/sweep.js';
export { loadLockModule, LockModuleError, type LockModule } from './locks/modules.js';
export { runStress, formatSummary as formatStressSummary, type StressOptions, type StressSummary } from './stress/run.js';
export { runMicroBench, type MicroOptions, type MicroResult } from './micro/micro.js';
export { compareRuns, runDifferences, runCautions, formatComparison, comparisonCsv, type Comparison, type ComparisonRow } from './contention/compare.js';
export { loadSavedRun, savedRunOf, ResultsFileError, type SavedRun, type SavedPoint } from './contention/compare-input.js';
export { lineChartSvg, type ChartSeries, type LineChartOptions } from './kit/charts.js';
export type { Lock, LockInit, LockKind } from '../src/locks/index.js';
