// Adds up the CPU and memory of one skill run across its shell steps: live figures while a
// step runs (written for `caduceus top` at most once a second) and, when the run ends, its
// CPU time and peak memory (for `caduceus runs`).

import type { RunUsageStore } from '../../reconciler/state/run-usage.js';
import type { LiveUsage } from './backend.js';

const WRITE_EVERY_MS = 1000;

export class RunMeter {
  private doneCpuMs = 0;
  private peak = 0;
  private source: 'proc' | 'docker' = 'proc';
  private lastWrite = 0;
  private measured = false;

  constructor(
    private readonly runId: string,
    private readonly store: RunUsageStore | undefined,
  ) {}

  /** A live sample of the step in flight. */
  sample(u: LiveUsage): void {
    this.measured = true;
    this.source = u.source;
    this.peak = Math.max(this.peak, u.peakMemoryBytes);
    const now = Date.now();
    if (now - this.lastWrite < WRITE_EVERY_MS) return;
    this.lastWrite = now;
    this.write({
      cpuMs: this.doneCpuMs + u.cpuMs,
      cpuPercent: u.cpuPercent,
      memoryBytes: u.memoryBytes,
      processes: u.processes,
    });
  }

  /** A step ended with these totals. */
  stepDone(usage: { cpuMs: number; peakMemoryBytes: number } | undefined): void {
    if (!usage) return;
    this.measured = this.measured || usage.cpuMs > 0 || usage.peakMemoryBytes > 0;
    this.doneCpuMs += usage.cpuMs;
    this.peak = Math.max(this.peak, usage.peakMemoryBytes);
  }

  /** The run ended: its totals, without live figures. */
  finish(): void {
    if (this.measured) this.write({ cpuMs: this.doneCpuMs, cpuPercent: null, memoryBytes: null, processes: null });
  }

  private write(u: {
    cpuMs: number;
    cpuPercent: number | null;
    memoryBytes: number | null;
    processes: number | null;
  }): void {
    try {
      this.store?.put({
        runId: this.runId,
        ...u,
        peakMemoryBytes: this.peak,
        source: this.source,
        updatedAt: Date.now(),
      });
    } catch {
      // Usage figures are a convenience: a busy database must not fail the run.
    }
  }
}
