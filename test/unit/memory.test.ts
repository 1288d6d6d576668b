/**
 * HeapMemory.fillBytes: the word-wide fill behind calloc, zeroOnFree, the debug heap's
 * poison and guards. Every alignment of both ends, and nothing outside the range changes.
 */
import { describe, expect, it } from 'vitest';
import { smallHeap } from '../helpers/tiers.js';

describe('HeapMemory.fillBytes', () => {
  it('writes exactly [p, end) for every alignment of both ends, words and bytes alike', () => {
    const { mem } = smallHeap();
    const at = mem.base + 64;
    for (let head = 0; head < 8; head++) {
      for (let len = 0; len < 40; len++) {
        mem.u8.fill(0x11, at - 16, at + 64);
        const p = at + head;
        mem.fillBytes(0xdd, p, p + len);
        const got = Array.from(mem.u8.subarray(at - 16, at + 64));
        const want = got.map((_, i) => (i >= 16 + head && i < 16 + head + len ? 0xdd : 0x11));
        expect(got, `head ${head}, length ${len}`).toEqual(want);
      }
    }
  });

  it('fills with zero and with bytes above 127 (the word is the byte four times)', () => {
    const { mem } = smallHeap();
    const p = mem.base;
    mem.fillBytes(0xff, p, p + 4096);
    expect(mem.u8.subarray(p, p + 4096).every((b) => b === 0xff)).toBe(true);
    mem.fillBytes(0, p + 3, p + 4093);
    expect([mem.u8[p + 2], mem.u8[p + 3], mem.u8[p + 4092], mem.u8[p + 4093]]).toEqual([0xff, 0, 0, 0xff]);
  });
});
