// What the benchmarks share: timing a command in a fresh process, its peak RSS, medians,
// and writing a benchmark's own section of bench/RESULTS.md in place of its previous one.

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

export interface Timed {
  ms: number;
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to its end; wall time from spawn to exit. Its stdout goes to a file, not a
 * pipe: a process that calls process.exit() loses what it wrote to a pipe but not yet
 * flushed, never what it wrote to a file.
 */
export function runTimed(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Timed {
  const out = join(tmpdir(), `caduceus-bench-stdout-${process.pid}`);
  const fd = openSync(out, 'w');
  const t = performance.now();
  let r: ReturnType<typeof spawnSync>;
  try {
    r = spawnSync(cmd, args, {
      encoding: 'utf8',
      stdio: ['ignore', fd, 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
      env: opts.env,
      cwd: opts.cwd,
    });
  } finally {
    closeSync(fd);
  }
  const ms = performance.now() - t;
  const stdout = readFileSync(out, 'utf8');
  rmSync(out, { force: true });
  if (r.error) throw r.error;
  return { ms, status: r.status, stdout, stderr: String(r.stderr) };
}

const PEAK_RSS_MODULE = new URL('./peak-rss.js', import.meta.url).href;

/**
 * Node arguments that make a process write its peak RSS (MB) and CPU time to `file` when it exits
 * (a module preloaded with --import; see peak-rss.ts). The file is named on the command
 * line so that the measured command's environment stays the caller's.
 */
export function peakRssArgs(file: string): string[] {
  rmSync(file, { force: true });
  return ['--import', `${PEAK_RSS_MODULE}?${encodeURIComponent(file)}`];
}

/** What the preloaded module wrote: peak RSS (MB) and CPU time (ms) of the process. */
export function readPeakRss(file: string): { rssMb: number; cpuMs: number } {
  if (!existsSync(file)) throw new Error(`no peak RSS written to ${file}`);
  const [rssMb, cpuMs] = readFileSync(file, 'utf8').split(' ').map(Number);
  rmSync(file, { force: true });
  return { rssMb: rssMb as number, cpuMs: cpuMs as number };
}

/**
 * Replaces the section whose heading starts with `heading` (up to the next `## `), or appends
 * it; the hand-written part of the old section, from its first line starting "History", is kept.
 */
export function replaceSection(file: string, heading: string, section: string[]): void {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith(heading));
  let text: string;
  if (start < 0) {
    text = `${lines.join('\n').replace(/\n*$/, '')}\n\n${section.join('\n').replace(/\n*$/, '')}\n`;
  } else {
    let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
    if (end < 0) end = lines.length;
    // What people wrote under the generated part, from its first "History" line, stays.
    const history = lines.findIndex((l, i) => i > start && i < end && /^History\b/.test(l));
    const kept = history < 0 ? [] : [...lines.slice(history, end).join('\n').replace(/\n*$/, '').split('\n'), ''];
    const next = [
      ...lines.slice(0, start),
      ...section.join('\n').replace(/^\n+/, '').replace(/\n*$/, '').split('\n'),
      '',
      ...kept,
      ...lines.slice(end),
    ];
    text = `${next.join('\n').replace(/\n*$/, '')}\n`;
  }
  writeFileSync(file, text);
}

/** `N cores (model), Node vX; load average A before, B after`. */
export function machineLine(loadBefore: number): string {
  const cpu = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'})`;
  const load = `load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] ?? 0).toFixed(1)} after`;
  return `${cpu}, Node ${process.version}; ${load}`;
}

/** A markdown table row. */
export const tableRow = (cells: string[]): string => `| ${cells.join(' | ')} |`;
