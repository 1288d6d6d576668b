/** Assertions on the allocator's typed errors: the class and the stable `.code`. */
import { expect } from 'vitest';

export const CODES = {
  oom: 'ERR_SABMALLOC_OOM',
  invalidPointer: 'ERR_SABMALLOC_INVALID_POINTER',
  doubleFree: 'ERR_SABMALLOC_DOUBLE_FREE',
  invalidHeap: 'ERR_SABMALLOC_INVALID_HEAP',
  corruption: 'ERR_SABMALLOC_HEAP_CORRUPTION',
  detached: 'ERR_SABMALLOC_DETACHED',
} as const;

/** Runs `fn`, expects it to throw an instance of `cls` whose `.code` is `code`; returns the error. */
export function expectThrows<E extends Error>(
  fn: () => unknown,
  cls: abstract new (...args: never[]) => E,
  code?: string,
): E {
  let thrown: unknown = undefined;
  let returned: unknown = undefined;
  try {
    returned = fn();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) expect.fail(`expected ${cls.name}${code ? ` (${code})` : ''}, but the call returned ${String(returned)}`);
  expect(thrown, `thrown: ${String(thrown)}`).toBeInstanceOf(cls);
  if (code !== undefined) expect((thrown as { code?: string }).code).toBe(code);
  return thrown as E;
}
