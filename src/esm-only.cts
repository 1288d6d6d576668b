/**
 * The `require` condition of the package's exports: sabmalloc is ESM-only. A CommonJS
 * `require('sabmalloc')` lands here and gets a clear error instead of
 * ERR_PACKAGE_PATH_NOT_EXPORTED; `await import('sabmalloc')` works from CommonJS.
 */
const err = new Error(
  "sabmalloc is an ES module only package: use `import { SharedHeap } from 'sabmalloc'` " +
    "(or `const { SharedHeap } = await import('sabmalloc')` from CommonJS); require() is not supported",
) as Error & { code: string };
err.code = 'ERR_SABMALLOC_ESM_ONLY';
throw err;
