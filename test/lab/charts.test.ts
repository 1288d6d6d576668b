/**
 * The charts' reading aids (bench/kit/charts.ts): a log y axis is ticked by decade over the
 * data's own range (no 13 labels for two decades of data), and points flagged as noisy are
 * drawn in a layer of their own (hollow grey markers), only when there are any.
 */
import { describe, expect, it } from 'vitest';
import { lineChartSpec, lineChartSvg } from '../../bench/kit/charts.js';

type Layer = { mark: { type: string; stroke?: string }; encoding: { y: { axis?: { values?: number[] } } }; transform?: { filter: string }[] };
const layersOf = (spec: unknown): Layer[] => (spec as { layer: Layer[] }).layer;

describe('line charts', () => {
  const series = [
    { name: 'a', points: [[1, 2e5], [2, 7e6]] as const, flagged: [2] },
    { name: 'b', points: [[1, 3e5], [2, 1e6]] as const },
  ];

  it('ticks a log y axis by decade, from below the smallest to above the largest value', () => {
    const line = layersOf(lineChartSpec({ title: 't', xLabel: 'x', yLabel: 'y', logY: true, series })).find((l) => l.mark.type === 'line')!;
    expect(line.encoding.y.axis?.values).toEqual([1e5, 1e6, 1e7]);
  });

  it('draws flagged points in their own hollow grey layer, and none without flags', async () => {
    const flagged = layersOf(lineChartSpec({ title: 't', xLabel: 'x', yLabel: 'y', series })).filter((l) => l.transform?.[0]?.filter === 'datum.flagged');
    expect(flagged).toHaveLength(1);
    expect(flagged[0]!.mark).toMatchObject({ type: 'point', stroke: 'grey' });
    const plain = layersOf(lineChartSpec({ title: 't', xLabel: 'x', yLabel: 'y', series: [series[1]!] }));
    expect(plain.some((l) => l.transform?.[0]?.filter === 'datum.flagged')).toBe(false);
    expect(await lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', logY: true, series })).toContain('stroke="grey"');
  });
});
