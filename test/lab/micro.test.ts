/**
 * `sabmalloc micro` (bench/micro/micro.ts): the pair is reported in two settings, each contender
 * alone in its own worker isolate and all of them in one process with several heaps, and
 * every ratio comes from the measured rows of its setting. No timing is asserted (the
 * machine is shared): only that the rows exist and the ratios are their quotients.
 * The quick run is the real command, `sabmalloc micro --quick --out here` in a scratch
 * directory: it writes its two files there and nowhere else (bench/results untouched), prints
 * its tables once, and the JSON it wrote is the result checked. (`--no-write`: the README's
 * `micro --quick --no-write` in test/repo/package.test.ts.) The isolated contenders run
 * dist/workers/micro.js: `npm run build` first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ISOLATED, microMarkdown, microRatios, TASK, type MicroResult, type MicroRow } from '../../bench/micro/micro.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bench', 'cli', 'sabmalloc.js');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'sabmalloc-micro-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const row = (name: string, where: MicroRow['where'], nsPerOp: number): MicroRow => ({ name, where, nsPerOp, meanNsPerOp: nsPerOp, rmePct: 1, samples: 10, opsPerSample: 1 });

describe('micro ratios', () => {
  it('come from the rows of their own setting, and the verdicts follow the values', () => {
    const rows = [
      row(TASK.pair, 'isolate', 6),
      row(TASK.pairUnhardened, 'isolate', 4),
      row(TASK.thingPair, 'isolate', 10),
      row(TASK.floor, 'isolate', 1),
      row(TASK.pair, 'process', 9),
      row(TASK.pairUnhardened, 'process', 7),
      row(TASK.thingPair, 'process', 10),
      row(TASK.floor, 'process', 1),
      row(TASK.churn, 'process', 10),
      row(TASK.thingChurn, 'process', 5000),
    ];
    const own = microRatios(rows, 'isolate');
    expect(own.ratios).toEqual({ pairVsThing: 0.6, unhardenedVsFloor: 4, pairVsFloor: 6, churnSpeedupVsThing: null });
    expect(own.met).toEqual({ pairVsThing: true, unhardenedVsFloor: true, pairVsFloor: true, churnSpeedupVsThing: null });
    const shared = microRatios(rows, 'process');
    expect(shared.ratios).toEqual({ pairVsThing: 0.9, unhardenedVsFloor: 7, pairVsFloor: 9, churnSpeedupVsThing: 500 });
    expect(shared.met).toEqual({ pairVsThing: false, unhardenedVsFloor: false, pairVsFloor: false, churnSpeedupVsThing: true });
    expect(() => microRatios(rows.filter((r) => r.name !== TASK.floor || r.where !== 'isolate'), 'isolate')).toThrow(/no isolate row/);
  });

  it('a quick run (--out here) writes there only, prints once, and reports every contender in its own isolate and in one process, with ratios of the measured rows', () => {
    const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : []);
    const before = statSync(path.join(ROOT, 'bench', 'results', 'micro.json')).mtimeMs;
    const run = spawnSync(process.execPath, [BIN, 'micro', '--quick', '--out', 'here'], { cwd: scratch, encoding: 'utf8', timeout: 120_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(files(scratch)).toEqual(['here', path.join('here', 'micro-quick.json'), path.join('here', 'micro-quick.md')]);
    expect(statSync(path.join(ROOT, 'bench', 'results', 'micro.json')).mtimeMs).toBe(before);
    expect(run.stdout.match(/sabmalloc microbenchmark/g)).toHaveLength(1);
    const r = JSON.parse(readFileSync(path.join(scratch, 'here', 'micro-quick.json'), 'utf8')) as MicroResult;
    expect(r.quick).toBe(true);
    // quick: 3 rounds in this process, the own-isolate contenders in one, user access through views
    expect([r.rounds, r.isolatedRounds]).toEqual([3, 1]);
    expect(new Set(r.userAccess!.rows.map((x) => x.mode))).toEqual(new Set(['view']));
    const ns = (name: string, where: MicroRow['where']): number => {
      const found = r.rows.find((x) => x.name === name && x.where === where);
      expect(found, `${where} row ${name}`).toBeDefined();
      expect(found!.nsPerOp).toBeGreaterThan(0);
      expect(Number.isFinite(found!.nsPerOp)).toBe(true);
      return found!.nsPerOp;
    };
    for (const c of ISOLATED) ns(TASK[c], 'isolate');
    for (const name of Object.values(TASK)) ns(name, 'process');
    for (const where of ['isolate', 'process'] as const) {
      const ratios = where === 'isolate' ? r.ratios : r.processRatios;
      expect(ratios.pairVsThing).toBeCloseTo(ns(TASK.pair, where) / ns(TASK.thingPair, where), 10);
      expect(ratios.unhardenedVsFloor).toBeCloseTo(ns(TASK.pairUnhardened, where) / ns(TASK.floor, where), 10);
      expect(ratios.pairVsFloor).toBeCloseTo(ns(TASK.pair, where) / ns(TASK.floor, where), 10);
    }
    // The isolated rows are measured apart: not copies of the one-process figures.
    expect(r.rows.filter((x) => x.where === 'isolate').map((x) => x.nsPerOp)).not.toEqual(
      ISOLATED.map((c) => ns(TASK[c], 'process')),
    );
    // the project's targets only when asked for (--targets); the ratios always
    const plain = microMarkdown(r);
    expect(plain).toMatch(/\| pair vs @thi\.ng\/malloc pair \| own isolate \| [\d.]+x \|\n/);
    expect(plain).not.toMatch(/MISSED|\| met \|/);
    const md = microMarkdown(r, true);
    expect(md).toMatch(/\| pair vs @thi\.ng\/malloc pair \| own isolate \| [\d.]+x \| <= 0\.7x \| (met|MISSED) \|/);
    expect(md).toMatch(/\| pair vs @thi\.ng\/malloc pair \| one process \| [\d.]+x \| <= 0\.7x \| (met|MISSED) \|/);
    expect(md).toMatch(/\| hardening: false pair vs free-list floor \| own isolate \| [\d.]+x \| <= 5x \|/);
    expect(md).toMatch(/\| hardening: false pair vs free-list floor \| one process \| [\d.]+x \| <= 5x \|/);
  }, 120_000);
});
