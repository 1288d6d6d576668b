/**
 * bench/kit/charts.ts imports vega's default export, which Node's CommonJS build of vega has;
 * the ES module build that a browser bundle uses has named exports only. This module
 * gives the chart code the namespace as its default, so charts.ts bundles unchanged.
 */
import * as vega from 'vega';
export default vega;
