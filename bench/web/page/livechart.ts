/**
 * The live throughput chart: a plain canvas line chart redrawn at every sample.
 *
 * Why not vega-lite here: compiling and rendering a vega-lite spec takes tens of
 * milliseconds on an idle machine and hundreds on a busy one, on the page's main thread,
 * which also runs the sampling timer; at several redraws a second it starved the sampler.
 * This draws in well under a millisecond. When a run ends, the page renders the same data
 * once with the CLI's vega-lite spec (bench/kit/charts.ts).
 *
 * Owns: nothing but the canvas it is given.
 */
import type { ChartSeries } from '../../kit/charts.js';

const PALETTE = ['#1f2933', '#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

/** 1, 2, 5 x 10^k steps giving about `n` ticks over [0, max]. */
function niceStep(max: number, n: number): number {
  const raw = max / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

function si(x: number): string {
  if (x >= 1e9) return `${+(x / 1e9).toFixed(1)}G`;
  if (x >= 1e6) return `${+(x / 1e6).toFixed(1)}M`;
  if (x >= 1e3) return `${+(x / 1e3).toFixed(1)}k`;
  return `${+x.toFixed(1)}`;
}

/**
 * Sizes a canvas to `height` CSS pixels (its width follows the layout), sharp on high-DPI
 * screens, cleared to white; returns its context in CSS-pixel units.
 */
export function prepareCanvas(canvas: HTMLCanvasElement, height: number, width = canvas.clientWidth || 560): CanvasRenderingContext2D {
  const dpr = globalThis.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.height = `${height}px`;
  const g = canvas.getContext('2d')!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, width, height);
  return g;
}

export function drawLineChart(
  canvas: HTMLCanvasElement,
  o: { title: string; xLabel: string; yLabel: string; series: readonly ChartSeries[]; logY?: boolean; height?: number; legendWidth?: number },
): void {
  const width = canvas.clientWidth || 560;
  const height = o.height ?? 250;
  const g = prepareCanvas(canvas, height, width);
  const legendW = o.legendWidth ?? 86;
  const left = 58;
  const top = 26;
  const right = width - legendW - 8;
  const bottom = height - 36;
  let xMax = 0.001;
  let yMax = 1;
  for (const s of o.series) {
    for (const [x, y] of s.points) {
      xMax = Math.max(xMax, x);
      yMax = Math.max(yMax, y);
    }
  }
  // Log scale: decades from 1 (0 drawn at the axis), for rates that differ by orders of magnitude.
  const decades = Math.max(1, Math.ceil(Math.log10(Math.max(1, yMax))));
  const yStep = o.logY ? 1 : niceStep(yMax, 5);
  if (!o.logY) yMax = Math.ceil(yMax / yStep) * yStep;
  const xStep = niceStep(xMax, 6);
  const X = (x: number): number => left + ((right - left) * x) / xMax;
  const Y = o.logY
    ? (y: number): number => bottom - ((bottom - top) * Math.log10(Math.max(1, y))) / decades
    : (y: number): number => bottom - ((bottom - top) * y) / yMax;
  g.font = '11px sans-serif';
  g.strokeStyle = '#e4e7eb';
  g.fillStyle = '#444';
  g.lineWidth = 1;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  const ticks: number[] = [];
  if (o.logY) for (let d = 0; d <= decades; d++) ticks.push(10 ** d);
  else for (let y = 0; y <= yMax + yStep / 2; y += yStep) ticks.push(y);
  for (const y of ticks) {
    g.beginPath();
    g.moveTo(left, Y(y));
    g.lineTo(right, Y(y));
    g.stroke();
    g.fillText(si(y), left - 4, Y(y));
  }
  g.textAlign = 'center';
  g.textBaseline = 'top';
  for (let x = 0; x <= xMax + 1e-9; x += xStep) g.fillText(`${+x.toFixed(2)}`, X(x), bottom + 4);
  g.font = 'bold 11px sans-serif';
  g.fillText(o.xLabel, (left + right) / 2, bottom + 19);
  g.fillText(o.title, (left + right) / 2, 6);
  g.save();
  g.translate(12, (top + bottom) / 2);
  g.rotate(-Math.PI / 2);
  g.fillText(o.yLabel, 0, -6);
  g.restore();
  g.strokeStyle = '#888';
  g.strokeRect(left, top, right - left, bottom - top);
  o.series.forEach((s, k) => {
    const color = PALETTE[k % PALETTE.length]!;
    g.strokeStyle = color;
    g.lineWidth = k === 0 ? 2.5 : 1.5;
    g.beginPath();
    s.points.forEach(([x, y], i) => (i === 0 ? g.moveTo(X(x), Y(y)) : g.lineTo(X(x), Y(y))));
    g.stroke();
    g.fillStyle = color;
    g.fillRect(right + 12, top + k * 15, 10, 10);
    g.fillStyle = '#222';
    g.font = '11px sans-serif';
    g.textAlign = 'left';
    g.textBaseline = 'top';
    g.fillText(s.name, right + 26, top + k * 15);
  });
}
