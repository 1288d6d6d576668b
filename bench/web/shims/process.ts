/**
 * Browser stand-in for the one `process` use of the shared benchmark code:
 * bench/kit/control.ts marks the process's CPU time at the start and end of a timed
 * window. A page cannot see CPU time, so both marks are 0 and the lab reports cores used as
 * unknown (null), as the CLI does where /proc/stat is missing. Injected by build.ts in
 * place of the free identifier `process` (never as a global: the library's thread.ts reads
 * `globalThis.process` and must see none in a browser).
 */
export const process = {
  cpuUsage: (): { user: number; system: number } => ({ user: 0, system: 0 }),
  env: { NODE_ENV: 'production' } as Record<string, string | undefined>,
};
