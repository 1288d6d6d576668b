/**
 * The user-access table speaks about the run: its ratios always, the project's own
 * targets and their met/MISSED status only when asked for (`--targets`), like every other
 * tool of the lab.
 */
import { describe, expect, it } from 'vitest';
import { userAccessMarkdown, type UserAccessResult } from '../../bench/micro/user-access.js';

const result: UserAccessResult = {
  rows: [
    { buffer: 'plain', mode: 'view', workers: 1, mAccessesPerSec: 1000 },
    { buffer: 'fixed heap', mode: 'view', workers: 1, mAccessesPerSec: 500 },
    { buffer: 'plain', mode: 'view', workers: 2, mAccessesPerSec: 1800 },
    { buffer: 'fixed heap', mode: 'view', workers: 2, mAccessesPerSec: 900 },
  ],
  vsPlain: [
    { buffer: 'fixed heap', mode: 'view', workers: 1, ratio: 0.5 },
    { buffer: 'fixed heap', mode: 'view', workers: 2, ratio: 0.5 },
  ],
  scaling: [
    { buffer: 'plain', mode: 'view', ratio: 1.8 },
    { buffer: 'fixed heap', mode: 'view', ratio: 1.8 },
  ],
  targets: { vsPlain: 0.8, scaling: 1.6 },
  warmMs: 10,
  timeMs: 20,
  reps: 1,
};

describe('user-access report', () => {
  it('prints the ratios of the run and no target by default', () => {
    const text = userAccessMarkdown(result).join('\n');
    expect(text).toContain('fixed heap @1 0.50x');
    expect(text).toContain('fixed heap 1.80x');
    expect(text).not.toMatch(/target|MISSED|\bmet\b/i);
  });

  it('adds the targets and their status with targets on', () => {
    const text = userAccessMarkdown(result, true).join('\n');
    expect(text).toMatch(/vs plain >= 0\.8x MISSED/);
    expect(text).toMatch(/scaling >= 1\.6x met/);
  });
});
