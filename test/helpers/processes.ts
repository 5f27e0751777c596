// Finding the processes a test started from outside their PID namespace: local steps run
// in their own namespace, so a pid they print means nothing on the host. A test gives each
// sleeper a unique duration and looks for `sleep <that>` in the host's process table.

import { execFileSync } from 'node:child_process';

/** A `sleep` duration (in seconds, about 80 days) that no other process uses. */
export function sleepMarker(): string {
  return String(7_000_000 + Math.floor(Math.random() * 1_000_000));
}

/** Host pids of the processes running `sleep <marker>`. */
export function pidsWith(marker: string): number[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, stat, cmd, arg]) => cmd === 'sleep' && arg === marker && !stat?.startsWith('Z'))
    .map(([pid]) => Number(pid));
}
