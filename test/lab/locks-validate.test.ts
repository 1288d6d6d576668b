/**
 * `sabmalloc locks --validate` gives verdicts, not aborts: the example lock, a correct FIFO
 * lock that is slow under oversubscription (ticket with proportional backoff) and a broken
 * lock (no mutual exclusion) in one run: PASS, PASS, FAIL (mutual exclusion); every kind's
 * points are written; the exit code is 1. And user modules never hang the CLI: a lock()
 * that never returns, a top-level await that never settles, a create() that throws only
 * in workers, an allocator's createHeap() that never returns: each one line naming the
 * module and the call. The two that settle by themselves (the await Node gives up on, the
 * throw) go through the CLI: one line on stderr, exit 2. The two that hang are stopped by
 * the module check's timeout, which the CLI sets to MODULE_TIMEOUT_MS; here the loaders are
 * called with a 1 s timeout instead, so the test does not wait out the CLI's (the error
 * they throw is what the CLI prints; no timing is asserted).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-run.js';
import { LockModuleError, loadLockModule } from '../../bench/locks/modules.js';
import { AllocatorModuleError, loadAllocatorModule } from '../../bench/contention/adapters/module.js';
import { oneVerdictPerCheck } from '../../bench/locks/validate.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'sabmalloc-locks-validate-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const FIX = 'test/fixtures/lock-modules';

describe('locks --validate: verdicts per kind and check', () => {
  it('example PASS, slow FIFO PASS, broken FAIL (mutual exclusion); all results written; exit 1', async () => {
    const out = path.join(scratch, 'v');
    const r = await runCli([
      'locks', '--kinds', 'tas-backoff,user-ticket-backoff,no-exclusion',
      '--lock-module', 'bench/examples/backoff-lock.js', '--lock-module', `${FIX}/ticket-backoff-lock.js`, '--lock-module', `${FIX}/broken-lock.js`,
      '--workers', '2,3', '--cs', '4', '--duration', '20', '--reps', '3', '--validate', '--validate-iterations', '200', '--no-uncontended', '--out', out, '--name', 'v',
    ]);
    expect(r.code, r.err).toBe(1);
    const verdict = (kind: string, check: string) => new RegExp(`^(PASS|PASS \\(slow\\)|FAIL)\\s+${kind}\\s+${check}`, 'm').exec(r.out)?.[1];
    for (const check of ['mutual exclusion', 'progress', 'fairness']) {
      expect(verdict('tas-backoff', check), check).toMatch(/^PASS/);
      expect(verdict('user-ticket-backoff', check), check).toMatch(/^PASS/);
    }
    expect(verdict('no-exclusion', 'mutual exclusion')).toBe('FAIL');
    // Only the broken lock fails; besides mutual exclusion its fairness may fail too (a lock
    // that excludes nobody promises no order), and the summary counts every FAIL line.
    const failed = [...r.out.matchAll(/^FAIL\s+(\S+)\s+/gm)].map((m) => m[1]);
    expect(new Set(failed)).toEqual(new Set(['no-exclusion']));
    expect(r.err).toMatch(new RegExp(`\\b${failed.length} check\\(s\\) FAILED`));
    const report = JSON.parse(readFileSync(path.join(out, 'v.json'), 'utf8')) as {
      points: { kind: string; workers: number; throughputReps: number[]; violation?: string; acquire: { counts: number[] } }[];
      verdicts: { kind: string; check: string; pass: boolean }[];
      validation: { kind: string; workers: number }[];
    };
    for (const kind of ['tas-backoff', 'user-ticket-backoff', 'no-exclusion']) {
      expect(report.points.filter((p) => p.kind === kind).map((p) => p.workers)).toEqual([2, 3]);
      // the validation pass ran at the counts asked for, and no other
      expect(report.validation.filter((v) => v.kind === kind).map((v) => v.workers)).toEqual([2, 3]);
    }
    for (const p of report.points) expect([p.kind, p.throughputReps.length]).toEqual([p.kind, 3]);
    expect(report.points.filter((p) => p.kind === 'no-exclusion').every((p) => p.violation)).toBe(true);
    expect(report.points.filter((p) => p.kind !== 'no-exclusion').some((p) => p.violation)).toBe(false);
    // one verdict per kind and check, whether the sweep, the validation pass or both caught it
    const checks = report.verdicts.map((v) => `${v.kind}/${v.check}`);
    expect(new Set(checks).size).toBe(checks.length);
    const failedChecks = report.verdicts.filter((v) => !v.pass).map((v) => `${v.kind}/${v.check}`);
    expect(failedChecks).toContain('no-exclusion/mutual exclusion');
    expect(failedChecks.every((c) => c.startsWith('no-exclusion/'))).toBe(true);
    expect(readFileSync(path.join(out, 'v.csv'), 'utf8').split('\n')[0]).toContain('flags');
  });
});

describe('user lock modules never hang the CLI', () => {
  it.each([
    ['never-loads-lock.js', /loading \(import\) (never finished|did not finish within)/], // exit 13, or the time limit on a starved machine
    ['worker-only-throw-lock.js', /create\(\) threw: this lock cannot be created in a worker/],
  ])('%s: one line naming the module and the call, exit 2', async (file, what) => {
    const r = await runCli(['locks', '--lock-module', `${FIX}/${file}`, '--dry-run']);
    expect(r.code).toBe(2);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(file);
    expect(lines[0]).toMatch(what);
  });

  /** The loader's error for a module that hangs: one typed error, one line naming the module and the call. */
  async function hangError(load: Promise<unknown>): Promise<Error> {
    const e = await load.then(
      () => null,
      (x: unknown) => x as Error,
    );
    expect(e, 'the load was stopped').toBeInstanceOf(Error);
    expect(e!.message.split('\n')).toHaveLength(1);
    return e!;
  }

  it('hanging-lock.js (lock() never returns): stopped by the check timeout, one line naming the module and the call', async () => {
    const e = await hangError(loadLockModule(`${FIX}/hanging-lock.js`, 1000));
    expect(e).toBeInstanceOf(LockModuleError);
    expect(e.message).toContain('hanging-lock.js');
    expect(e.message).toMatch(/lock\(\) of a free lock did not finish within \d+ s/);
  });

  it("an allocator module whose createHeap() never returns: stopped by the check timeout, one line naming it and the call", async () => {
    const e = await hangError(loadAllocatorModule('test/fixtures/allocator-modules/hanging-allocator.js', 1000));
    expect(e).toBeInstanceOf(AllocatorModuleError);
    expect(e.message).toMatch(/allocator module '.*hanging-allocator\.js': createHeap\(\) did not finish within \d+ s/);
  });
});

describe('oneVerdictPerCheck', () => {
  it('a check failed by the sweep and by the validation pass fails once, with both details', () => {
    const v = oneVerdictPerCheck([
      { kind: 'k', check: 'mutual exclusion', pass: false, detail: 'sweep: lost update' },
      { kind: 'k', check: 'progress', pass: true, detail: 'moving' },
      { kind: 'k', check: 'mutual exclusion', pass: false, detail: 'validation pass: witness' },
      { kind: 'j', check: 'mutual exclusion', pass: true, detail: 'clean' },
      { kind: 'j', check: 'mutual exclusion', pass: false, detail: 'validation pass: lost update' },
    ]);
    expect(v.map((x) => `${x.kind}/${x.check}/${x.pass}`)).toEqual(['k/mutual exclusion/false', 'k/progress/true', 'j/mutual exclusion/false']);
    expect(v[0]!.detail).toBe('sweep: lost update; validation pass: witness');
    expect(v[2]!.detail).toBe('validation pass: lost update');
  });
});
