/**
 * Thread identity (src/core/thread.ts): Node's default, the host-supplied id and the
 * blocking probe. The browser side (ids from the page, a main thread that cannot block)
 * runs in test/lab/browser.test.ts.
 */
import { threadId as nodeThreadId } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { canBlock, setThreadId, SharedHeap, threadId, ThreadIdentityError } from '../../src/index.js';
import { slotWordOf } from '../../src/core/layout.js';

describe('thread identity', () => {
  it("defaults to worker_threads' threadId on Node and is fixed once read", () => {
    expect(threadId()).toBe(nodeThreadId);
    expect(() => setThreadId(nodeThreadId)).not.toThrow();
    const other = nodeThreadId + 1000;
    expect(() => setThreadId(other)).toThrow(ThreadIdentityError);
    expect(threadId()).toBe(nodeThreadId);
  });

  it('rejects ids that are not integers from 0 to 2^31 - 2', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 31, '3' as unknown as number]) expect(() => setThreadId(bad)).toThrow(RangeError);
  });

  it('records the id in the slot the thread claims, and a Node thread may block', () => {
    expect(canBlock()).toBe(true);
    const heap = SharedHeap.create({ size: 1 << 20, maxThreads: 2 });
    const i32 = new Int32Array(heap.buffer);
    const slotWord = slotWordOf(heap.layout, heap.threadSlot);
    expect(i32[slotWord + 1]).toBe(nodeThreadId); // S.THREAD_ID
    expect(() => heap.recover(nodeThreadId)).toThrow(/cannot recover itself/);
    heap.detach();
  });
});
