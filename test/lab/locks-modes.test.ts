/**
 * `sabmalloc locks` axes and modes: lengths in ns (--cs-ns, --outside-ns, converted by the
 * calibration and recorded beside the asked values), randomised lengths (--jitter), stutter
 * and long-hold modes, workers per core (--per-core): a small run keeps mutual exclusion,
 * records what was asked in the JSON and carries the new figures per point; bad values are
 * one line and exit 2. No timing is asserted.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-run.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'sabmalloc-locks-modes-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('locks: ns lengths, jitter, stutter, long hold, workers per core', () => {
  it('runs with every mode on, keeps mutual exclusion and records the modes and new figures', async () => {
    const r = await runCli([
      'locks', '--kinds', 'ttas,mcs', '--policy', 'park,spin', '--per-core', '1', '--quick', '--duration', '40', '--cs-ns', '0,100', '--outside-ns', '50',
      '--jitter', '0.5', '--stutter', '10', '--long-hold', '50:1', '--no-uncontended', '--out', scratch, '--name', 'm',
    ]);
    expect(r.code, r.err.slice(-1500)).toBe(0);
    expect(r.out).toMatch(/^Modes: critical sections asked in ns: 0, 100/m);
    const j = JSON.parse(readFileSync(path.join(scratch, 'm.json'), 'utf8')) as {
      options: { csNs: number[]; csWrites: number[]; outsideNs: number; jitter: number; stutterMs: number; longHold: { every: number; ms: number }; workers: number[] };
      points: { name: string; csWrites: number; violation?: string; unfair?: boolean; overheadNs?: number | null; handover?: unknown; wakeup?: unknown }[];
    };
    expect(j.options.workers).toEqual([os.cpus().length]);
    expect(j.options.csNs).toEqual([0, 100]);
    expect(j.options.csWrites[0]).toBe(0);
    expect(j.options.csWrites[1]).toBeGreaterThan(0);
    expect([j.options.outsideNs, j.options.jitter, j.options.stutterMs, j.options.longHold]).toEqual([50, 0.5, 10, { every: 50, ms: 1 }]);
    expect([...new Set(j.points.map((p) => p.name))].sort()).toEqual(['mcs/park', 'mcs/spin', 'ttas/spin']);
    for (const p of j.points) {
      expect(p.violation, p.name).toBeUndefined();
      expect(typeof p.unfair).toBe('boolean');
      expect(p.handover && p.wakeup, p.name).toBeTruthy();
      expect(p.overheadNs === null || typeof p.overheadNs === 'number').toBe(true);
    }
  }, 120_000);
  it.each([
    [['--long-hold', '5'], /--long-hold/],
    [['--cs', '4', '--cs-ns', '10'], /--cs or --cs-ns/],
    [['--workers', '2', '--per-core', '1'], /--workers or --per-core/],
    [['--jitter', '2'], /--jitter/],
    [['--policy', 'sometimes'], /--policy/],
  ])('%j: one line, exit 2', async (args, what) => {
    const r = await runCli(['locks', ...args, '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(what);
  });
});
