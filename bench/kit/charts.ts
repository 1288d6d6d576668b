/**
 * Headless SVG charts for benchmark reports, rendered by Vega-Lite 5 + Vega 5 (no DOM, no
 * canvas: `renderer: 'none'` and View.toSVG()). Reusable by every benchmark: give it series
 * of [x, y] points, get an SVG string back.
 *
 * Owns: nothing persistent; each call compiles one Vega-Lite spec and renders it.
 * Invariants: the output depends only on the arguments (no timestamps, no randomness), so
 * committed charts only change when the figures change. Points with a non-finite y, or
 * y < 0 on a log y axis, are dropped rather than breaking the whole chart; zeros on a log
 * axis switch it to symmetric-log so they are drawn. Axis labels never use SI prefixes
 * below 1 (0.1, not "100m"). A series' spread is drawn as error bars; its noise-flagged
 * points as hollow grey markers (the figure is there, but the run says not to trust it).
 * A log y axis is ticked by decade only (1k, 10k, ...) over the data's own range.
 */
import vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface ChartSeries {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  /**
   * The measured spread of each point: [x, low, high] (e.g. min and max over repetitions),
   * drawn as an error bar through the point.
   */
  spread?: ReadonlyArray<readonly [number, number, number]>;
  /** x values of points flagged as noisy (bench/kit/noise.ts): drawn as hollow grey markers */
  flagged?: ReadonlyArray<number>;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  /** Log scale (base 2) on x, e.g. for worker counts 1, 2, 4, ... */
  logX?: boolean;
  /**
   * Log scale (base 10) on y, for values spanning orders of magnitude. When a series has
   * zeros the axis becomes symmetric-log (linear around 0) so that zeros are drawn.
   */
  logY?: boolean;
  /** Fix the y domain (e.g. [0, 1] for a fairness index). */
  yDomain?: readonly [number, number];
  width?: number;
  height?: number;
  /** Optional second line under the title (command, machine, ...). */
  subtitle?: string;
}

/**
 * Axis labels that read as numbers: SI suffixes only from a thousand up (1.5k, 20M), plain
 * decimals below (0.1, not "100m", which reads as a hundred million).
 */
export const AXIS_LABEL_EXPR = "abs(datum.value) >= 1000 ? format(datum.value, '~s') : format(datum.value, '~g')";

/** Builds the Vega-Lite spec; exported so callers can tweak or save it. */
export function lineChartSpec(o: LineChartOptions): TopLevelSpec {
  const values: { series: string; x: number; y: number | null; lo: number | null; hi: number | null; flagged: boolean }[] = [];
  const xs = new Set<number>();
  let hasZero = false;
  let minPositive = Infinity;
  let maxY = -Infinity;
  for (const s of o.series) {
    const spread = new Map((s.spread ?? []).map(([x, lo, hi]) => [x, [lo, hi] as const]));
    const flagged = new Set(s.flagged ?? []);
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (o.logY && y < 0) continue;
      if (o.logX && x <= 0) continue;
      const sp = spread.get(x);
      const lo = sp && Number.isFinite(sp[0]) && (!o.logY || sp[0] >= 0) ? sp[0] : null;
      const hi = sp && Number.isFinite(sp[1]) ? sp[1] : null;
      values.push({ series: s.name, x, y, lo: lo !== null && hi !== null ? lo : null, hi: lo !== null && hi !== null ? hi : null, flagged: flagged.has(x) });
      xs.add(x);
      if (y === 0 || lo === 0) hasZero = true;
      if (y > 0) minPositive = Math.min(minPositive, y);
      if (lo !== null && lo > 0) minPositive = Math.min(minPositive, lo);
      maxY = Math.max(maxY, y, hi ?? -Infinity);
    }
  }
  const decades: number[] = [];
  if (o.logY && Number.isFinite(minPositive) && maxY > 0) {
    for (let e = Math.floor(Math.log10(minPositive)); e <= Math.ceil(Math.log10(maxY)); e++) decades.push(10 ** e);
  }
  const xTicks = [...xs].sort((a, b) => a - b);
  // symlog is linear within +-constant of 0 and logarithmic beyond: zeros stay on the chart
  const yScale = o.yDomain
    ? { domain: [o.yDomain[0], o.yDomain[1]] }
    : o.logY
      ? hasZero
        ? { type: 'symlog' as const, constant: Number.isFinite(minPositive) ? minPositive / 2 : 1 }
        : { type: 'log' as const }
      : { zero: true };
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: o.xLabel,
    scale: o.logX ? { type: 'log' as const, base: 2 } : { zero: false },
    axis: xTicks.length <= 16 ? { values: xTicks, format: '~g' } : { format: '~g' },
  };
  const color = { field: 'series', type: 'nominal' as const, title: null, sort: o.series.map((s) => s.name) };
  const hasSpread = values.some((v) => v.lo !== null);
  const hasFlagged = values.some((v) => v.flagged);
  const yAxis = { labelExpr: AXIS_LABEL_EXPR, ...(decades.length >= 2 && !o.yDomain ? { values: decades } : {}) };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.subtitle ? { text: o.title, subtitle: o.subtitle } : o.title,
    width: o.width ?? 560,
    height: o.height ?? 360,
    background: 'white',
    data: { values },
    layer: [
      ...(hasSpread
        ? [
            {
              transform: [{ filter: 'datum.lo !== null' }],
              mark: { type: 'rule' as const, strokeWidth: 1.5, opacity: 0.6 },
              encoding: { x, y: { field: 'lo', type: 'quantitative' as const, scale: yScale }, y2: { field: 'hi' }, color },
            },
          ]
        : []),
      {
        mark: { type: 'line' as const, point: true, strokeWidth: 2 },
        encoding: {
          x,
          y: { field: 'y', type: 'quantitative' as const, title: o.yLabel, scale: yScale, axis: yAxis },
          color,
          tooltip: [{ field: 'series' }, { field: 'x' }, { field: 'y' }, ...(hasSpread ? [{ field: 'lo', title: 'low' }, { field: 'hi', title: 'high' }] : [])],
        },
      },
      ...(hasFlagged
        ? [
            {
              transform: [{ filter: 'datum.flagged' }],
              mark: { type: 'point' as const, filled: true, fill: 'white', stroke: 'grey', size: 90, strokeWidth: 2 },
              encoding: { x, y: { field: 'y', type: 'quantitative' as const, scale: yScale } },
            },
          ]
        : []),
    ],
    config: { font: 'sans-serif', legend: { orient: 'right' } },
  } as TopLevelSpec;
}

/** Renders a line chart (one line per series) to a standalone SVG document string. */
export async function lineChartSvg(o: LineChartOptions): Promise<string> {
  return specToSvg(lineChartSpec(o));
}

/** Renders any Vega-Lite spec headlessly to SVG. */
export async function specToSvg(spec: TopLevelSpec): Promise<string> {
  const vgSpec = compile(spec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
