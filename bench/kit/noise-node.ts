/**
 * The noise readings of a Node host (NoiseSources of bench/kit/noise.ts): process CPU
 * time from process.cpuUsage (every thread of the process, worker_threads included), the
 * load average from os.loadavg, machine-wide CPU time from /proc/stat and per-thread CPU
 * time from /proc/self/task/<tid>/stat where those files exist (Linux); elsewhere those
 * two readings are null (macOS, Windows), and os.loadavg's [0, 0, 0] on Windows is null.
 *
 * Owns: nothing; reads the host. Node only (the web lab supplies its own sources).
 * /proc times are in clock ticks; USER_HZ is 100 on every mainstream Linux build and
 * is assumed (Node cannot ask sysconf).
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { NoiseSources } from './noise.js';

const TICK_MS = 10;

/** Busy and total jiffies of all cores from the first line of /proc/stat (null off Linux). */
export function procStatTime(text?: string): { busy: number; total: number } | null {
  try {
    const line = (text ?? readFileSync('/proc/stat', 'utf8')).split('\n', 1)[0]!;
    if (!line.startsWith('cpu ')) return null;
    // user nice system idle iowait irq softirq steal: idle and iowait are not busy
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    if (f.length < 5 || f.some((x) => !Number.isFinite(x))) return null;
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3]! - f[4]!, total };
  } catch {
    return null;
  }
}

/** utime + stime (ms) of one /proc/<pid>/task/<tid>/stat line; the name may hold spaces and ')'. */
export function taskStatCpuMs(line: string): number | null {
  const rest = line.slice(line.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15
  const ticks = Number(rest[11]) + Number(rest[12]);
  return Number.isFinite(ticks) ? ticks * TICK_MS : null;
}

function threadCpuMs(): Map<number, number> | null {
  try {
    const out = new Map<number, number>();
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const ms = taskStatCpuMs(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8'));
        if (ms !== null) out.set(Number(tid), ms);
      } catch {
        // the thread ended between the listing and the read
      }
    }
    return out;
  } catch {
    return null;
  }
}

/** The readings of this Node process and machine. */
export function nodeNoiseSources(): NoiseSources {
  return {
    nowMs: () => performance.now(),
    processCpuUs: () => {
      const c = process.cpuUsage();
      return c.user + c.system;
    },
    loadAvg1: () => (process.platform === 'win32' ? null : os.loadavg()[0]!),
    machineTime: () => procStatTime(),
    threadCpuMs,
    cores: () => os.availableParallelism?.() ?? os.cpus().length,
  };
}
