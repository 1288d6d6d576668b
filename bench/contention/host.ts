/**
 * What the process cost during one run, as mimalloc-bench reports it per run: wall time,
 * user and system CPU, peak resident set (sampled), page faults; all process-wide (every
 * worker thread of every pool), over the whole run (set-up, timed window, cleanup, check).
 *
 * Owns: one interval timer per run, sampling process.memoryUsage.rss() every 10 ms on the
 * main thread (which only waits for the workers during a run).
 *
 * Caveats, stated in the report: the RSS includes every pool's idle isolates and whatever
 * earlier runs left for the garbage collector, so the growth over the run (peak minus the
 * RSS when the run started) is the figure compared between allocators; a peak shorter
 * than 10 ms can be missed.
 */
export interface RunResources {
  wallSeconds: number;
  userCpuSeconds: number;
  sysCpuSeconds: number;
  peakRssBytes: number;
  /** peak RSS during the run minus the RSS when it started */
  rssGrowthBytes: number;
  minorFaults: number;
  majorFaults: number;
}

export class HostSampler {
  private readonly timer: NodeJS.Timeout;
  private readonly t0 = performance.now();
  private readonly ru0 = process.resourceUsage();
  private readonly rss0 = process.memoryUsage.rss();
  private peak = this.rss0;

  constructor(everyMs = 10) {
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  private sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
  }

  stop(): RunResources {
    clearInterval(this.timer);
    this.sample();
    const ru = process.resourceUsage();
    return {
      wallSeconds: (performance.now() - this.t0) / 1000,
      userCpuSeconds: (ru.userCPUTime - this.ru0.userCPUTime) / 1e6,
      sysCpuSeconds: (ru.systemCPUTime - this.ru0.systemCPUTime) / 1e6,
      peakRssBytes: this.peak,
      rssGrowthBytes: this.peak - this.rss0,
      minorFaults: ru.minorPageFault - this.ru0.minorPageFault,
      majorFaults: ru.majorPageFault - this.ru0.majorPageFault,
    };
  }
}
