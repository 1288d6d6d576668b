/**
 * Headless SVG charts for benchmark reports, rendered by Vega-Lite 5 + Vega 5 (no DOM, no
 * canvas: `renderer: 'none'` and View.toSVG()). Reusable by every benchmark: give it series
 * of [x, y] points, get an SVG string back.
 *
 * Owns: nothing persistent; each call compiles one Vega-Lite spec and renders it.
 * Invariants: the output depends only on the arguments (no timestamps, no randomness), so
 * committed charts only change when the figures change. Points with a non-finite y, or
 * y <= 0 on a log y axis, are dropped rather than breaking the whole chart.
 */
import vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface ChartSeries {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  /** Log scale (base 2) on x, e.g. for worker counts 1, 2, 4, ... */
  logX?: boolean;
  /** Log scale (base 10) on y, for values spanning orders of magnitude. */
  logY?: boolean;
  /** Fix the y domain (e.g. [0, 1] for a fairness index). */
  yDomain?: readonly [number, number];
  width?: number;
  height?: number;
  /** Optional second line under the title (command, machine, ...). */
  subtitle?: string;
}

/** Builds the Vega-Lite spec; exported so callers can tweak or save it. */
export function lineChartSpec(o: LineChartOptions): TopLevelSpec {
  const values: { series: string; x: number; y: number }[] = [];
  const xs = new Set<number>();
  for (const s of o.series) {
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (o.logY && y <= 0) continue;
      if (o.logX && x <= 0) continue;
      values.push({ series: s.name, x, y });
      xs.add(x);
    }
  }
  const xTicks = [...xs].sort((a, b) => a - b);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.subtitle ? { text: o.title, subtitle: o.subtitle } : o.title,
    width: o.width ?? 640,
    height: o.height ?? 360,
    background: 'white',
    data: { values },
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: o.xLabel,
        scale: o.logX ? { type: 'log', base: 2 } : { zero: false },
        axis: xTicks.length <= 16 ? { values: xTicks, format: '~g' } : { format: '~g' },
      },
      y: {
        field: 'y',
        type: 'quantitative',
        title: o.yLabel,
        scale: o.yDomain
          ? { domain: [o.yDomain[0], o.yDomain[1]] }
          : o.logY
            ? { type: 'log' }
            : { zero: true },
        axis: { format: '~s' },
      },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        sort: o.series.map((s) => s.name),
      },
      tooltip: [{ field: 'series' }, { field: 'x' }, { field: 'y' }],
    },
    config: { font: 'sans-serif', legend: { orient: 'right' } },
  };
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
