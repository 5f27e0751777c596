import { describe, it, expect, afterEach } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { harness, runtime, cli, type Harness } from './helpers.js';
import { waitFor } from '../../helpers/wait.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Whether any process still runs with this marker in its command line. */
function processWithMarker(marker: string): boolean {
  const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return ps.split('\n').some((l) => l.includes(marker) && !l.includes('ps -eo'));
}

describe('local backend', () => {
  it('kills the whole process group on timeout, leaving no background child behind', async () => {
    h = harness([runtime()]);
    const marker = `${Math.floor(Math.random() * 1e6) + 4000000}`;
    // The background sleep would outlive a plain kill of the shell.
    const res = await h.runner.exec({ command: `sleep ${marker} & sleep ${marker}; echo never`, timeoutMs: 500 }, cli);
    expect(res.status).toBe('timedOut');
    expect(res.output).not.toContain('never');
    await waitFor(() => !processWithMarker(`sleep ${marker}`), 10_000, `no process "sleep ${marker}"`);
  });

  it('leaves no background process behind when the shell exits normally', async () => {
    h = harness([runtime()]);
    const marker = `${Math.floor(Math.random() * 1e6) + 5000000}`;
    const res = await h.runner.exec({ command: `sleep ${marker} & echo started` }, cli);
    expect(res.status).toBe('succeeded');
    expect(res.output.trim()).toBe('started');
    await waitFor(() => !processWithMarker(`sleep ${marker}`), 10_000, `no process "sleep ${marker}"`);
  });

  it('kills a leftover child that ignores SIGTERM and closed its output, after the grace period', async () => {
    h = harness([runtime()]);
    const marker = `${Math.floor(Math.random() * 1e6) + 6000000}`;
    const res = await h.runner.exec({ command: `(trap "" TERM; sleep ${marker}) >/dev/null 2>&1 & echo started` }, cli);
    expect(res.status).toBe('succeeded');
    // SIGTERM is ignored: only the SIGKILL after the grace period ends it.
    await waitFor(() => !processWithMarker(`sleep ${marker}`), 15_000, `no process "sleep ${marker}"`);
  });

  it('keeps only the tail of a 100 MB flood and counts the dropped bytes, with bounded memory', async () => {
    h = harness([runtime({ execution: { outputLimitBytes: 64 * 1024 } })]);
    const rssBefore = process.memoryUsage().rss;
    const res = await h.runner.exec({ command: `head -c 100000000 /dev/zero | tr '\\0' x; printf END` }, cli);
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    expect(res.status).toBe('succeeded');
    expect(Buffer.byteLength(res.output)).toBe(64 * 1024);
    expect(res.output.endsWith('xxxxEND')).toBe(true);
    expect(res.droppedBytes).toBe(100_000_000 + 3 - 64 * 1024);
    // Keeping the flood would cost over 100 MB (and as much again as a string); with the cap
    // the growth is only garbage not yet collected.
    expect(rssGrowth).toBeLessThan(80 * 1024 * 1024);
  });

  it('passes only allow-listed host variables plus the request env', async () => {
    process.env.CADUCEUS_TEST_SECRET = 'do-not-leak';
    process.env.CADUCEUS_TEST_ALLOWED = 'visible';
    try {
      h = harness([runtime({ execution: { envAllowlist: ['PATH', 'CADUCEUS_TEST_ALLOWED'] } })]);
      const res = await h.runner.exec({ command: 'env | sort', env: { EXTRA: 'given' } }, cli);
      expect(res.status).toBe('succeeded');
      expect(res.output).toContain('CADUCEUS_TEST_ALLOWED=visible');
      expect(res.output).toContain('EXTRA=given');
      expect(res.output).not.toContain('do-not-leak');
      expect(res.output).not.toMatch(/^HOME=/m);
      // Only what was allowed or given, plus what sh itself sets (PWD, SHLVL, _).
      const names = res.output
        .trim()
        .split('\n')
        .map((l) => l.split('=')[0]);
      const expected = new Set([
        'CADUCEUS_TEST_ALLOWED',
        'CADUCEUS_WORKSPACE',
        'EXTRA',
        'PATH',
        'PWD',
        'SHLVL',
        '_',
        'OLDPWD',
      ]);
      expect(names.filter((n) => !expected.has(n as string))).toEqual([]);
    } finally {
      delete process.env.CADUCEUS_TEST_SECRET;
      delete process.env.CADUCEUS_TEST_ALLOWED;
    }
  });

  it('runs each process in its own fresh workspace, removed after success and kept after failure', async () => {
    h = harness([runtime()]);
    const a = await h.runner.exec({ command: 'pwd; ls -A | wc -l; touch mark' }, cli);
    const b = await h.runner.exec({ command: 'pwd; ls -A | wc -l; exit 3' }, cli);
    const [dirA, countA] = a.output.trim().split('\n');
    const [dirB, countB] = b.output.trim().split('\n');
    expect(dirA).not.toBe(dirB);
    expect(countA?.trim()).toBe('0');
    expect(countB?.trim()).toBe('0');
    // Each in a directory of its own directly under the state dir's workspaces/.
    expect(dirname(dirA as string)).toBe(join(h.stateDir, 'workspaces'));
    expect(dirname(dirB as string)).toBe(join(h.stateDir, 'workspaces'));
    expect(existsSync(dirA as string)).toBe(false);
    expect(b.status).toBe('failed');
    expect(b.exitCode).toBe(3);
    expect(existsSync(dirB as string)).toBe(true);
    expect(readdirSync(join(h.stateDir, 'workspaces'))).toHaveLength(1);
  });

  it('cancels a running process group when the caller aborts', async () => {
    h = harness([runtime()]);
    const ac = new AbortController();
    const t0 = Date.now();
    // Aborts once the shell has set its trap and says so, so the process group is really running.
    const res = await h.runner.exec(
      { command: 'trap "" TERM; echo armed; sleep 30' },
      {
        ...cli,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.message === 'armed') ac.abort();
        },
      },
    );
    expect(res.status).toBe('cancelled');
    expect(res.output.trim()).toBe('armed');
    // SIGTERM is ignored by the trap: SIGKILL after the grace period ends it.
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('runs a process whose timeout is beyond what one timer holds (30d) instead of timing it out at once', async () => {
    h = harness([runtime()]);
    const res = await h.runner.exec({ command: 'sleep 0.3; echo done', timeoutMs: 30 * 86_400_000 }, cli);
    expect(res.status).toBe('succeeded');
    expect(res.output.trim()).toBe('done');
  });

  it('counts processes by backend and outcome on /metrics', async () => {
    h = harness([runtime()]);
    await h.runner.exec({ command: 'true' }, cli);
    await h.runner.exec({ command: 'false' }, cli);
    const text = await h.deps.metrics.metrics();
    expect(text).toContain('caduceus_exec_processes_total{mode="local",status="succeeded"} 1');
    expect(text).toContain('caduceus_exec_processes_total{mode="local",status="failed"} 1');
    expect(text).toContain('caduceus_exec_process_duration_seconds_count{mode="local"} 2');
  });

  it('streams output lines to onProgress as they arrive', async () => {
    h = harness([runtime()]);
    const lines: string[] = [];
    await h.runner.exec(
      { command: 'echo one; echo two >&2; printf three' },
      { ...cli, onProgress: (p) => p.message && lines.push(p.message) },
    );
    // stdout and stderr are separate pipes: lines stay whole, their order across pipes is free.
    expect(lines.sort()).toEqual(['one', 'three', 'two']);
  });
});
