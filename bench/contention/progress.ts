/**
 * The progress bar on stderr: one redrawn line on a TTY, a line per ~5% otherwise.
 */
import type { ProgressEvent } from './types.js';

function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export class ProgressBar {
  private lastPct = -1;
  private readonly tty: boolean;
  private readonly started = Date.now();

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY);
  }

  update(e: ProgressEvent): void {
    const frac = e.total > 0 ? e.done / e.total : 1;
    const elapsed = Date.now() - this.started;
    const etaMs = e.done > 0 ? (elapsed / e.done) * (e.total - e.done) : NaN;
    // the suite's closing event names no run: it reports completion
    const finished = e.workload === '';
    const what = finished ? 'done' : `${e.warmup ? 'warm-up ' : ''}${e.workload} · ${e.allocator} · ${e.workers}w${e.warmup ? '' : ` · rep ${e.rep + 1}/${e.reps}`}`;
    const eta = finished ? '' : ` · ETA ${fmtDuration(etaMs)}`;
    if (this.tty) {
      const width = 28;
      const filled = Math.round(frac * width);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      const line = `${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${e.done}/${e.total} ${what}${eta}`;
      const cols = this.stream.columns || 120;
      this.stream.write(`\r${line.slice(0, cols - 1).padEnd(cols - 1)}`);
    } else {
      const pct = Math.floor(frac * 20) * 5;
      if (pct !== this.lastPct || finished) {
        this.lastPct = pct;
        this.stream.write(`[bench] ${String(pct).padStart(3)}% ${e.done}/${e.total} ${what} · elapsed ${fmtDuration(elapsed)}${eta}\n`);
      }
    }
  }

  /** Prints a message on its own line without breaking the bar. */
  note(msg: string): void {
    if (this.tty) this.stream.write(`\r\x1b[K${msg}\n`);
    else this.stream.write(`${msg}\n`);
  }

  done(): void {
    if (this.tty) this.stream.write('\r\x1b[K');
  }
}
