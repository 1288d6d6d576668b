/**
 * ThreadCache.recount() walks a cached list twice: once checking every object and counting,
 * then again writing each object's depth word. Another thread writing into a cached block
 * (a use after free racing the owner's flush) can change a link between the two walks.
 * The second walk used to follow links unchecked, writing a depth into every word the new
 * chain led to (into other lists, span free lists, anywhere in the buffer) for as long as
 * that chain lasted: a hang in the hardening race test. This test makes the write land
 * exactly between the walks, deterministically: decodeLink is wrapped so that its second
 * call for the list's head (the first step of the second walk) performs the write.
 */
import { describe, expect, it, vi } from 'vitest';
import { HeapCorruptionError, SharedHeap } from '../../src/index.js';
import { H } from '../../src/core/layout.js';
import { MiB } from '../helpers/heap.js';

const hook = vi.hoisted(() => ({ at: 0, seen: 0, write: null as null | (() => void) }));

vi.mock('../../src/core/safelink.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/core/safelink.js')>();
  return {
    ...real,
    decodeLink(stored: number, at: number, key: number): number {
      if (hook.write !== null && at === hook.at && ++hook.seen === 2) {
        const w = hook.write;
        hook.write = null;
        w();
      }
      return real.decodeLink(stored, at, key);
    },
  };
});

describe('recount: a link changed between its two walks', () => {
  it('is refused before any word outside the list is written', async () => {
    const { encodeLink } = await vi.importActual<typeof import('../../src/core/safelink.js')>('../../src/core/safelink.js');
    const heap = SharedHeap.create({ size: 4 * MiB });
    const u32 = new Uint32Array(heap.buffer);
    const key = u32[H.KEY]!;
    const blocks = Array.from({ length: 4 }, () => heap.malloc(256));
    const x = heap.malloc(32); // another class: a free block outside the 256 B list
    heap.free(x);
    heap.releaseCachedMemory(); // x goes to its span; its depth word keeps 1
    for (const p of blocks) heap.free(p); // list: blocks[3] -> blocks[2] -> blocks[1] -> blocks[0]
    expect(u32[(x >>> 2) + 1]).toBe(1);
    hook.at = blocks[3]!;
    hook.seen = 0;
    hook.write = () => {
      u32[blocks[0]! >>> 2] = encodeLink(x, blocks[0]!, key); // the last block now links to x
    };
    let error: unknown;
    try {
      heap.releaseCachedMemory();
    } catch (e) {
      error = e;
    }
    expect(hook.write, 'the write happened during the flush').toBeNull();
    expect(error).toBeInstanceOf(HeapCorruptionError);
    expect(u32[(x >>> 2) + 1], "x's word was not written").toBe(1);
  });
});
