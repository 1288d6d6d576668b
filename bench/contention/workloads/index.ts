/** The workload registry, in report order. */
import { cacheScratch, cacheThrash } from './cache.js';
import type { WorkloadDef } from './common.js';
import { larson } from './larson.js';
import { mstress } from './mstress.js';
import { ring } from './ring.js';
import { threadtest } from './threadtest.js';
import { xmalloc } from './xmalloc.js';
import { sh6bench, sh8bench } from './batch.js';
import { kvmap } from './kvmap.js';
import { mleak } from './mleak.js';
import { allocTest, glibcThread, mallocLarge, rptest } from './replace.js';

export const WORKLOADS: readonly WorkloadDef[] = [
  larson,
  xmalloc,
  threadtest,
  ring,
  cacheScratch,
  cacheThrash,
  mstress,
  // mimalloc-bench's patterns and a real client
  rptest,
  sh6bench,
  sh8bench,
  allocTest,
  glibcThread,
  mallocLarge,
  kvmap,
  mleak,
];
export const WORKLOAD_NAMES: readonly string[] = WORKLOADS.map((w) => w.name);

export function workloadByName(name: string): WorkloadDef {
  const w = WORKLOADS.find((x) => x.name === name);
  if (!w) throw new Error(`unknown workload "${name}" (known: ${WORKLOAD_NAMES.join(', ')})`);
  return w;
}

export type { WorkloadDef, WorkloadParams, WorkerTask, WorkerOutcome } from './common.js';
