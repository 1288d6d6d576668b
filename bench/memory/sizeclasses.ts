/**
 * Prints the size-class table: size, pages per span, objects per span, batch, span tail waste
 * and the worst rounding waste of a request that lands in the class.
 *
 * Run: `npx sabmalloc sizeclasses [--page-size 8192]`.
 */
import { sizeClassTable } from '../../src/core/sizeclasses.js';

export interface SizeClassRow {
  sizeClass: number;
  size: number;
  pages: number;
  objectsPerSpan: number;
  batch: number;
  /** (pages * pageSize mod size) / (pages * pageSize), percent */
  tailWastePct: number;
  /** worst (size - n) / size over the requests n this class serves, percent */
  roundingWastePct: number;
}

export function sizeClassRows(pageSize = 8192): SizeClassRow[] {
  const t = sizeClassTable(pageSize);
  const rows: SizeClassRow[] = [];
  for (let c = 1; c < t.classes.length; c++) {
    const { size, pages, objectsPerSpan, batch } = t.classes[c]!;
    const spanBytes = pages * pageSize;
    const smallest = t.classes[c - 1]!.size + 1; // smallest request served by class c
    rows.push({
      sizeClass: c,
      size,
      pages,
      objectsPerSpan,
      batch,
      tailWastePct: (100 * (spanBytes % size)) / spanBytes,
      roundingWastePct: (100 * (size - smallest)) / size,
    });
  }
  return rows;
}

export function printSizeClasses(pageSize = 8192): void {
  const rows = sizeClassRows(pageSize);
  console.log(`${rows.length} size classes for ${pageSize}-byte pages (class 0 is reserved for large spans)`);
  console.log(['class', 'size', 'pages', 'objects/span', 'batch', 'tail waste %', 'max rounding %'].map((h) => h.padStart(16)).join(''));
  for (const r of rows) {
    console.log(
      [r.sizeClass, r.size, r.pages, r.objectsPerSpan, r.batch, r.tailWastePct.toFixed(2), r.roundingWastePct.toFixed(2)]
        .map((x) => String(x).padStart(16))
        .join(''),
    );
  }
  const worstTail = Math.max(...rows.map((r) => r.tailWastePct));
  const worstRound = Math.max(...rows.filter((r) => r.size > 128).map((r) => r.roundingWastePct));
  console.log(`worst tail waste ${worstTail.toFixed(2)}%, worst rounding waste above 128 B ${worstRound.toFixed(2)}%`);
}
