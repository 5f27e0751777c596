// CPU and memory of one shell process while it runs. Local processes run in their own
// process group, so the group's members are read from /proc (utime+stime, and the
// leader's cutime+cstime for children it already reaped; RSS for memory); a container's
// figures come from Docker's stats. Samples feed live progress and the run's totals.

import { readdirSync, readFileSync } from 'node:fs';

export interface UsageSample {
  /** CPU time so far, user + system, in ms. */
  cpuMs: number;
  /** Resident memory now, in bytes. */
  memoryBytes: number;
  processes: number;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux
const PAGE_SIZE = 4096;

/** Sums the members of a process group from /proc; undefined when none is left (or no /proc). */
export function sampleProcessGroup(pgid: number): UsageSample | undefined {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  let ticks = 0;
  let pages = 0;
  let processes = 0;
  for (const name of names) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // gone between readdir and read
    }
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[2]) !== pgid) continue; // field 5: pgrp
    processes++;
    ticks += Number(f[11]) + Number(f[12]); // utime, stime
    if (Number(name) === pgid) ticks += Number(f[13]) + Number(f[14]); // cutime, cstime: reaped children
    pages += Number(f[21]); // rss
  }
  if (processes === 0) return undefined;
  return { cpuMs: (ticks * 1000) / CLOCK_TICKS, memoryBytes: pages * PAGE_SIZE, processes };
}

/**
 * Samples at `first` ms, then every `every` ms, until stopped; `onSample` sees each sample
 * with the CPU percentage over the interval. stop() returns the totals (CPU time, peak).
 */
export function startSampler(
  sample: () => UsageSample | undefined,
  onSample: (s: UsageSample & { cpuPercent: number | null; peakMemoryBytes: number }) => void,
  opts: { first?: number; every?: number } = {},
): { stop(): { cpuMs: number; peakMemoryBytes: number } } {
  let cpuMs = 0;
  let peak = 0;
  let prev: { at: number; cpu: number } | undefined;
  const tick = (): void => {
    const s = sample();
    if (!s) return;
    const now = performance.now();
    cpuMs = Math.max(cpuMs, s.cpuMs);
    peak = Math.max(peak, s.memoryBytes);
    const cpuPercent = prev && now > prev.at ? ((s.cpuMs - prev.cpu) / (now - prev.at)) * 100 : null;
    prev = { at: now, cpu: s.cpuMs };
    onSample({ ...s, cpuPercent, peakMemoryBytes: peak });
  };
  let interval: NodeJS.Timeout | undefined;
  const first = setTimeout(() => {
    tick();
    interval = setInterval(tick, opts.every ?? 500);
    interval.unref();
  }, opts.first ?? 50);
  first.unref();
  return {
    stop: () => {
      clearTimeout(first);
      clearInterval(interval);
      return { cpuMs, peakMemoryBytes: peak };
    },
  };
}
