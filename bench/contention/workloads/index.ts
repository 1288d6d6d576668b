/** The workload registry, in report order. */
import { cacheScratch, cacheThrash } from './cache.js';
import type { WorkloadDef } from './common.js';
import { larson } from './larson.js';
import { mstress } from './mstress.js';
import { ring } from './ring.js';
import { threadtest } from './threadtest.js';
import { xmalloc } from './xmalloc.js';

export const WORKLOADS: readonly WorkloadDef[] = [larson, xmalloc, threadtest, ring, cacheScratch, cacheThrash, mstress];
export const WORKLOAD_NAMES: readonly string[] = WORKLOADS.map((w) => w.name);

export function workloadByName(name: string): WorkloadDef {
  const w = WORKLOADS.find((x) => x.name === name);
  if (!w) throw new Error(`unknown workload "${name}" (known: ${WORKLOAD_NAMES.join(', ')})`);
  return w;
}

export type { WorkloadDef, WorkloadParams, WorkerTask, WorkerOutcome } from './common.js';
