/**
 * NoLock: the lock of a tier that needs none. In the globalLock baseline every operation
 * already runs under the one global mutex, so the central and PageHeap locks would only
 * add uncontended atomics to the baseline and make it look slower than dlmalloc-style
 * allocators really are.
 */

import type { Lock, LockKind } from '../locks/lock.js';

export class NoLock implements Lock {
  // Not a lab kind: reported as the tier being covered by the global lock.
  readonly kind = 'none' as unknown as LockKind;
  lock(): void {}
  unlock(): void {}
  tryLock(): boolean {
    return true;
  }
  holder(): number {
    return 0;
  }
}
