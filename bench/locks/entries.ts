/**
 * What the lock lab measures: entries of (kind, waiting policy), each shown as one name
 * ("mcs/park") in every table, chart, CSV row, JSON point and verdict.
 *
 * Owns: nothing; pure functions over the kinds, the asked policies and LOCK_POLICIES.
 * Host-agnostic (no Node import): the web lab resolves its entries the same way.
 *
 * `--policy` choices: a policy name, `default` (each kind's own default) or `all` (every
 * policy the kind supports). A kind that supports none of the asked policies still runs,
 * under its only policy (tas, ttas, adaptive, busted have one), so a policy sweep keeps
 * its references and its negative control. A lock module that declares no policies has
 * one entry with no policy: its name alone.
 */
import { LOCK_POLICIES, WAIT_POLICIES, type LockKind, type WaitPolicy } from '../../src/locks/index.js';

export type PolicyChoice = WaitPolicy | 'default' | 'all';
export const POLICY_CHOICES: readonly PolicyChoice[] = [...WAIT_POLICIES, 'default', 'all'];

export interface LockEntry {
  /** what tables, charts and verdicts call it: `kind/policy`, or a module's name alone */
  name: string;
  kind: LockKind;
  /** null: a lock module that declared no policies */
  policy: WaitPolicy | null;
}

export const entryName = (kind: string, policy: WaitPolicy | null): string => (policy === null ? kind : `${kind}/${policy}`);

/** The point's or verdict's display name (a report saved before entries: its kind). */
export const nameOf = (p: { kind: string; name?: string }): string => p.name ?? p.kind;

/** Policies (supported, default) of a kind: built-in from LOCK_POLICIES, a module's from what it declared. */
export type PolicySource = (kind: string) => { policies: readonly WaitPolicy[]; default: WaitPolicy } | null;

export const builtinPolicies: PolicySource = (kind) => (LOCK_POLICIES as Record<string, { policies: readonly WaitPolicy[]; default: WaitPolicy }>)[kind] ?? null;

/** The entries for `kinds` x `choices` (default: each kind's default policy), kinds in order. */
export function lockEntries(kinds: readonly string[], choices: readonly PolicyChoice[] = ['default'], policiesOf: PolicySource = builtinPolicies): LockEntry[] {
  const out: LockEntry[] = [];
  for (const kind of kinds) {
    const p = policiesOf(kind);
    if (p === null) {
      out.push({ name: kind, kind: kind as LockKind, policy: null });
      continue;
    }
    const wanted = new Set<WaitPolicy>();
    for (const c of choices) {
      if (c === 'all') for (const x of p.policies) wanted.add(x);
      else if (c === 'default') wanted.add(p.default);
      else if (p.policies.includes(c)) wanted.add(c);
    }
    if (wanted.size === 0) wanted.add(p.default);
    // in the policies' own order (spin, spin-then-park, park), whatever order was asked
    for (const policy of WAIT_POLICIES) if (wanted.has(policy)) out.push({ name: entryName(kind, policy), kind: kind as LockKind, policy });
  }
  return out;
}
