/**
 * The timed loop of the uncontended lock benchmark: `pairs` lock+unlock pairs.
 *
 * Owns nothing. bench/locks/sweep.ts imports one private copy of this module per lock kind
 * (distinct URL query, hence distinct compiled code and type feedback) so the
 * `lock.lock()` call site below only ever sees one class, as an allocator call site
 * does. A single shared loop would go megamorphic and add tens of ns to every kind.
 */
import type { Lock } from '../../src/locks/index.js';

export function lockPairs(lock: Lock, pairs: number): void {
  for (let k = 0; k < pairs; k++) {
    lock.lock();
    lock.unlock();
  }
}
