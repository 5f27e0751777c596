// CPU and memory of one shell process while it runs. Local processes run in their own
// process group, so the group's members are read from /proc (utime+stime, and the
// leader's cutime+cstime for children it already reaped; RSS for memory); a container's
// figures come from Docker's stats. Samples feed live progress and the run's totals.

import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';

export interface UsageSample {
  /** CPU time so far, user + system, in ms. */
  cpuMs: number;
  /** Resident memory now, in bytes. */
  memoryBytes: number;
  processes: number;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux
const PAGE_SIZE = 4096;

/**
 * How long one scan of /proc answers every sampler that asks. Each sample used to read the
 * stat file of every process on the machine: with hundreds of task runs in flight, their
 * samplers made that quadratic (4 s of a 24 s start-up of 1,000 tasks, most of it in
 * readFileSync's 64 KiB buffer per /proc file, whose size reads as 0).
 */
const SCAN_REUSE_MS = 50;
/** /proc/PID/stat is a few hundred bytes; a longer one is read whole. */
const statBuf = Buffer.allocUnsafe(1024);
let lastScan: { at: number; groups: Map<number, UsageSample> } | undefined;

/**
 * Sums the members of a process group from /proc; undefined when none is left (or no /proc).
 * `now` (performance.now()) decides whether the last scan is reused.
 */
export function sampleProcessGroup(pgid: number, now = performance.now()): UsageSample | undefined {
  const fresh = lastScan !== undefined && now - lastScan.at <= SCAN_REUSE_MS;
  // A group missing from a reused scan may have started after it: look once more.
  if (!fresh || !lastScan?.groups.has(pgid)) {
    const groups = scanProcessGroups();
    if (!groups) return undefined;
    lastScan = { at: now, groups };
  }
  return lastScan.groups.get(pgid);
}

/** Every process group on the machine, summed from one pass over /proc; undefined without /proc. */
function scanProcessGroups(): Map<number, UsageSample> | undefined {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const groups = new Map<number, { ticks: number; pages: number; processes: number }>();
  for (const name of names) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const stat = readStat(name);
    if (stat === undefined) continue; // gone between readdir and read
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pgrp = Number(f[2]); // field 5
    let g = groups.get(pgrp);
    if (!g) {
      g = { ticks: 0, pages: 0, processes: 0 };
      groups.set(pgrp, g);
    }
    g.processes++;
    g.ticks += Number(f[11]) + Number(f[12]); // utime, stime
    if (Number(name) === pgrp) g.ticks += Number(f[13]) + Number(f[14]); // cutime, cstime: reaped children
    g.pages += Number(f[21]); // rss
  }
  const out = new Map<number, UsageSample>();
  for (const [pgrp, g] of groups)
    out.set(pgrp, { cpuMs: (g.ticks * 1000) / CLOCK_TICKS, memoryBytes: g.pages * PAGE_SIZE, processes: g.processes });
  return out;
}

/** /proc/PID/stat through one shared buffer (no allocation per file), or undefined when the process is gone. */
function readStat(pid: string): string | undefined {
  const path = `/proc/${pid}/stat`;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const n = readSync(fd, statBuf, 0, statBuf.length, null);
    return n < statBuf.length ? statBuf.toString('latin1', 0, n) : readFileSync(path, 'latin1');
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
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
