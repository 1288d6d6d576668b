/**
 * Browser stand-in for node:fs, bundled only where bench/kit/control.ts reads
 * /proc/stat for the machine's CPU jiffies: a page has no file system, so the read fails
 * and control.ts records the machine's load as unknown (its own catch). build.ts refuses
 * every other node: import, so nothing else can reach this module.
 */
export function readFileSync(path: string): never {
  throw new Error(`no file system in a browser (read of ${path})`);
}
