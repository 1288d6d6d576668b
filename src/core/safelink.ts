/**
 * Safe-linking of free-list pointers (as glibc and mimalloc do).
 *
 * A free block's first word holds the next free block, stored as
 *   next ^ key ^ mix(address of the block itself)
 * so a use-after-free write or an overflow from the previous block turns into a pointer
 * that fails validation when the list is popped, instead of a wild pointer handed to the
 * application. `key` is random per heap (header word H.KEY); mixing in the block's own
 * address means a link copied to another block does not decode to a valid pointer.
 * The arithmetic is unsigned 32-bit: pointers above 2 GiB round-trip exactly.
 *
 * Key 0 means plain links (a heap created with `hardening: false`, flag UNHARDENED: its
 * lists store `next` itself). A hardened heap's key is odd, never 0. Only these two
 * functions (slow paths, check, recovery) and ThreadCache's fast paths, which are chosen
 * per mode, read or write links.
 */

/** Multiplier that spreads a block's address over the link (the golden ratio, as int32). */
export const LINK_MIX = -1640531535; // 0x9e3779b1 | 0

export function encodeLink(next: number, at: number, key: number): number {
  return key === 0 ? next : (next ^ key ^ Math.imul(at, LINK_MIX)) >>> 0;
}

export function decodeLink(stored: number, at: number, key: number): number {
  return key === 0 ? stored : (stored ^ key ^ Math.imul(at, LINK_MIX)) >>> 0;
}
