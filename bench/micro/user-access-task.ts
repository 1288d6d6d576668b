/**
 * The task the user-access benchmark (user-access.ts) sends each of its workers
 * (workers/user-access.ts) and the block layout both sides agree on. Plain data only: the
 * worker imports this module, not user-access.ts (which runs as a script when started
 * directly).
 */
export interface UserAccessTask {
  buffer: SharedArrayBuffer;
  heap: boolean;
  mode: 'view' | 'typed';
  /** worker index (plain buffers: which part of the buffer is its own) */
  index: number;
  /** control words: [0] ready count, [1] go flag */
  control: SharedArrayBuffer;
  warmMs: number;
  timeMs: number;
}

export const BLOCKS = 4096;
export const BLOCK_BYTES = 64;
/** Plain buffers: the blocks of worker w start at PLAIN_BASE + w * BLOCKS * BLOCK_BYTES. */
export const PLAIN_BASE = 1 << 20;
