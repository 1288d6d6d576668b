/**
 * The report's worker-churn section (mleak): per allocator and worker count, the children
 * started per second next to the allocator calls per second, and how the children left
 * and what recovery found, summed over the repetitions.
 *
 * Owns: nothing; a pure function of the results.
 */
import type { SuiteResults } from './suite.js';
import { median } from './stats.js';
import { table } from './peer-report.js';

export function churnMarkdown(r: SuiteResults): string[] {
  const runs = r.runs.filter((x) => x.churn);
  if (runs.length === 0) return [];
  const out = ['## Worker churn (mleak)', ''];
  out.push(
    'Children started per second (median over repetitions) and how they left, summed over the repetitions: detached, process.exit, throw, terminated from outside; ' +
      'recovered (sabmalloc: recoverWhenExited found the dead child attached), operations settled from the intent log, frees the supervisor finished, blocks lost-on-kill (malloc returned, pointer never stored; still in use at the end, as counted), blocks a replacement adopted. ' +
      'Peers without recovery only detach.',
    '',
  );
  const rows: string[][] = [];
  for (const a of r.meta.options.allocators) {
    for (const n of r.meta.options.workers) {
      const rs = runs.filter((x) => x.allocator === a && x.workers === n);
      if (rs.length === 0) continue;
      const sum = (f: (c: NonNullable<(typeof rs)[number]['churn']>) => number): number => rs.reduce((s, x) => s + f(x.churn!), 0);
      rows.push([
        `\`${a}\``,
        String(n),
        `${(median(rs.map((x) => x.throughput)) / 1000).toFixed(1)}k`,
        median(rs.map((x) => x.units / x.seconds)).toFixed(1),
        `${sum((c) => c.cleanExits)} / ${sum((c) => c.processExits)} / ${sum((c) => c.throws)} / ${sum((c) => c.terminated)}`,
        String(sum((c) => c.recovered)),
        String(sum((c) => c.settled)),
        String(sum((c) => c.reclaimed)),
        String(sum((c) => c.lostOnKill)),
        String(sum((c) => c.adopted)),
      ]);
    }
  }
  const header = ['allocator', 'workers', 'calls/s', 'children/s', 'detach / exit / throw / terminated', 'recovered', 'settled', 'frees finished', 'lost-on-kill', 'adopted'];
  out.push(table(header, rows), '');
  return out;
}
