/**
 * `sabmalloc locks --wake`: the Atomics.wait/notify micro-benchmark runs its waiters,
 * reports a row per waiter count and writes its JSON; every recorded wake-up is in the
 * wake-up histogram and no round is counted twice (no timing is asserted).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-run.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'sabmalloc-locks-wake-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('locks --wake', () => {
  it('wakes 1 and 3 waiters for 5 rounds each; histograms hold every wake-up; JSON written', async () => {
    const r = await runCli(['locks', '--wake', '--workers', '1,3', '--wake-rounds', '5', '--out', scratch, '--name', 'w']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/wake-up p50/);
    const j = JSON.parse(readFileSync(path.join(scratch, 'w-wake.json'), 'utf8')) as {
      rows: { waiters: number; rounds: number; wakeups: number; notify: { counts: number[] }; wake: { counts: number[] } }[];
    };
    expect(j.rows.map((x) => x.waiters)).toEqual([1, 3]);
    for (const row of j.rows) {
      const sum = (c: number[]) => c.reduce((a, b) => a + b, 0);
      expect(sum(row.notify.counts)).toBe(5);
      expect(sum(row.wake.counts)).toBe(row.wakeups);
      // a waiter not yet asleep when a round begins misses it; none is woken twice per round
      expect(row.wakeups).toBeGreaterThan(0);
      expect(row.wakeups).toBeLessThanOrEqual(row.waiters * 5);
    }
  }, 60_000);
  it('rejects a bad --wake-rounds: one line, exit 2', async () => {
    const r = await runCli(['locks', '--wake', '--wake-rounds', '0']);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});
