/**
 * `sabmalloc locks --kinds all --policy all --validate --quick` with small counts: every
 * built-in kind (the negative control busted included) under every waiting policy it
 * supports is measured and validated in one run; busted FAILs mutual exclusion, every
 * other kind/policy PASSes every check, the results are written and the exit code is 1.
 * Dead-thread scenarios: the holder one only (--death-modes), to keep the test short; the
 * four scenarios per tier kind have their own tests (test/lab/locks.test.ts,
 * test/concurrency/tier-lock-kinds.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ALL_LOCK_KINDS, LOCK_POLICIES } from '../../src/locks/index.js';
import { runCli } from '../helpers/cli-run.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'sabmalloc-locks-all-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Report {
  entries: { name: string; kind: string; policy: string | null }[];
  points: { kind: string; name: string; policy: string; workers: number; violation?: string }[];
  verdicts: { kind: string; check: string; pass: boolean }[];
  deaths: { name: string; mode: string; pass: boolean }[];
}

describe('locks --kinds all --policy all --validate --quick', () => {
  it('runs every kind under every policy it supports; busted FAIL (mutual exclusion), every other PASS; results written', async () => {
    const out = path.join(scratch, 'all');
    const r = await runCli([
      'locks', '--kinds', 'all', '--policy', 'all', '--validate', '--quick', '--workers', '2', '--duration', '30',
      '--validate-iterations', '200', '--death-modes', 'holder', '--no-uncontended', '--out', out, '--name', 'all',
    ]);
    expect(r.code, r.err.slice(-2000)).toBe(1);
    const report = JSON.parse(readFileSync(path.join(out, 'all.json'), 'utf8')) as Report;
    const expected = ALL_LOCK_KINDS.flatMap((k) => LOCK_POLICIES[k].policies.map((p) => `${k}/${p}`));
    expect(ALL_LOCK_KINDS.length).toBeGreaterThanOrEqual(14);
    expect(report.entries.map((e) => e.name).sort()).toEqual([...expected].sort());
    expect([...new Set(report.points.map((p) => p.name))].sort()).toEqual([...expected].sort());
    const failed = report.verdicts.filter((v) => !v.pass).map((v) => `${v.kind} ${v.check}`);
    expect(failed).toContain('busted/spin mutual exclusion');
    expect(failed.filter((f) => !f.startsWith('busted/')), 'every other kind and policy passes every check').toEqual([]);
    for (const name of expected.filter((n) => !n.startsWith('busted/'))) {
      const checks = report.verdicts.filter((v) => v.kind === name).map((v) => v.check);
      expect(checks, name).toEqual(expect.arrayContaining(['mutual exclusion', 'progress', 'fairness', 'dead-thread recovery']));
    }
    expect(report.deaths.map((d) => d.name).sort()).toEqual([...expected].sort());
    expect(report.points.filter((p) => p.kind === 'busted').some((p) => p.violation)).toBe(true);
    expect(r.out).toMatch(/^FAIL\s+busted\/spin\s+mutual exclusion/m);
    expect(readFileSync(path.join(out, 'all.csv'), 'utf8').split('\n')[0]).toMatch(/^kind,policy,name,/);
  }, 300_000);
});
