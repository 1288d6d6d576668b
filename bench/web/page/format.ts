/**
 * Formatting shared by the page's panels: figures in tables, captions and tooltips, and the
 * tables themselves. Owns nothing.
 */

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  if (a >= 1e9) return (x / 1e9).toFixed(2) + 'G';
  if (a >= 1e6) return (x / 1e6).toFixed(2) + 'M';
  if (a >= 1e4) return (x / 1e3).toFixed(1) + 'k';
  if (a >= 100 || Number.isInteger(x)) return x.toFixed(0);
  return x.toFixed(2);
}
export function fmtNs(ns: number): string {
  if (ns >= 1e6) return (ns / 1e6).toFixed(1) + ' ms';
  if (ns >= 1e3) return (ns / 1e3).toFixed(1) + ' µs';
  return ns.toFixed(0) + ' ns';
}
export function fmtBytes(b: number): string {
  if (b >= 2 ** 20) return (b / 2 ** 20).toFixed(1) + ' MiB';
  if (b >= 1024) return (b / 1024).toFixed(1) + ' KiB';
  return b.toFixed(0) + ' B';
}

function cell(tag: 'td' | 'th', text: string, cls?: string): HTMLTableCellElement {
  const c = document.createElement(tag);
  c.textContent = text;
  if (cls) c.className = cls;
  return c;
}

/** Replaces a table's rows: a header row, then one row a line (first column left-aligned, the rest numeric). */
export function fillTable(table: HTMLTableElement, header: readonly string[], rows: readonly (readonly string[])[]): void {
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const h of header) head.appendChild(cell('th', h));
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    r.forEach((v, k) => tr.appendChild(cell('td', v, k === 0 ? 'l' : 'n')));
  }
}
