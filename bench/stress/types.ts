/**
 * The shapes the stress tester's coordinator (run.ts, misuse.ts) and its worker tasks
 * (tasks.ts, race.ts, started from workers/stress.ts) exchange: the tasks they send, the
 * counts and failures they return. Plain data, structured-clonable; no behaviour.
 */
import type { OpCounts, SizeMix } from './shared.js';

/** 'undetected': a racing misuse (two frees, a free and a realloc) that released a block twice. */
export type FailureKind = 'corrupt' | 'duplicate' | 'overlap' | 'lost' | 'leak' | 'error' | 'hang' | 'check' | 'undetected';

export interface StressFailure {
  kind: FailureKind;
  /** the block concerned, when there is one */
  pointer?: number;
  /** "class 12 (256 B)" or "large (3 pages)" or "unknown" */
  sizeClass?: string;
  /** who allocated (stamped) the block, from its token */
  allocatedBy?: string;
  /** who found the problem */
  seenBy: string;
  detail: string;
}

export interface ControlRef {
  buffer: SharedArrayBuffer;
  /** byte offset of the control block */
  ctrl: number;
  workers: number;
  handoffSlots: number;
  localCap: number;
  /** per-round salt of the block pattern */
  salt: number;
}

export interface StressTask extends ControlRef {
  worker: number;
  /** operations to run (0: until the deadline or STOP) */
  ops: number;
  /** Date.now() deadline (0: none) */
  deadline: number;
  seed: number;
  sizes: SizeMix;
  /** fraction of frees that go through the hand-off array (freeing whatever was there) */
  remoteFreeRate: number;
  /** fraction of operations that are reallocs */
  reallocRate: number;
  /** usable bytes this worker may keep in its local table */
  liveBudget: number;
  /** kill mode: this worker will be terminated; it runs past `ops` and the deadline until then (or STOP) */
  untilKilled?: boolean;
  /** killed-worker tests: at this op, die by an uncaught exception or process.exit() */
  dieAtOp?: number;
  dieHow?: 'throw' | 'exit';
}


export interface WorkCounts extends OpCounts {
  worker: number;
  threadId: number;
  slot: number;
  failures: StressFailure[];
}

export interface DrainTask extends ControlRef {
  /** index used to name this drainer in reports */
  worker: number;
  /** workers whose LOCAL tables this task empties */
  tables: number[];
  /** HAND-OFF slots [from, to) this task empties */
  handoffFrom: number;
  handoffTo: number;
}
