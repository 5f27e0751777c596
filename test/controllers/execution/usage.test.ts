// Process-group sampling from /proc: one scan serves the samplers that ask within a short
// window, and a group that started after that scan is still found.

import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { sampleProcessGroup } from '../../../controllers/execution/usage.js';
import { waitFor } from '../../helpers/wait.js';

const groups: ChildProcess[] = [];
afterEach(() => {
  for (const c of groups.splice(0)) {
    try {
      if (c.pid) process.kill(-c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** The process group of a /proc entry, or undefined. */
function pgrpOf(pid: string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}

/** A shell leading its own process group, with `children` sleeping children. */
function group(children: number): ChildProcess {
  const c = spawn('sh', ['-c', `${'sleep 600 & '.repeat(children)}wait`], { detached: true, stdio: 'ignore' });
  groups.push(c);
  return c;
}

describe('sampleProcessGroup', () => {
  it('sums every member of a group, and finds a group started after the scan it could reuse', async () => {
    const a = group(2);
    await waitFor(() => sampleProcessGroup(a.pid as number)?.processes === 3, 10_000, 'group a with 3 processes');
    // One moment in time for the next samples: the scan made now is reused by all of them.
    const now = performance.now();
    const first = sampleProcessGroup(a.pid as number, now);
    expect(first?.memoryBytes).toBeGreaterThan(0);
    // A group started after that scan is not in it, and must not read as gone.
    const b = group(1);
    await waitFor(() => readdirSync('/proc').filter((p) => pgrpOf(p) === b.pid).length === 2, 10_000, 'b running');
    expect(sampleProcessGroup(b.pid as number, now)?.processes).toBe(2);
    expect(sampleProcessGroup(a.pid as number)?.processes).toBe(3);
    process.kill(-(a.pid as number), 'SIGKILL');
    await waitFor(() => sampleProcessGroup(a.pid as number) === undefined, 10_000, 'group a gone');
  });
});
