// The example as a newcomer gets it: a `git clone` of this repository's HEAD (so data
// that was never committed, or that .gitignore hides, is missing here as it would be
// there), with security-review and every example skill run by the compiled CLI and
// their findings checked against what the sample data must produce.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { git } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { runProcess } from '../helpers/process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'app', 'cli.js');
let clone: string;
let stateDir: string;

beforeAll(async () => {
  clone = tempDir('caduceus-clone-');
  git(ROOT, 'clone', '-q', '--no-local', ROOT, clone);
  stateDir = tempDir('caduceus-state-');
});
afterAll(async () => {
  rmSync(clone, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<string> {
  const r = await runProcess(process.execPath, [CLI, ...args, '--state-dir', stateDir], { cwd: clone });
  if (r.code !== 0) throw new Error(`caduceus ${args.join(' ')} exited with ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

interface Report {
  status: string;
  subtasks: Array<{ name: string; status: string; output: string }>;
}

async function runSkill(name: string, ...params: string[]): Promise<{ status: string; output: string }> {
  const r = JSON.parse(
    await cli('run', 'skill', name, ...params.flatMap((p) => ['-p', p]), 'examples/repo', '--json'),
  ) as {
    status: string;
    output: string;
  };
  expect(r.status, r.output).toBe('succeeded');
  return r;
}

/** `  203.0.113.7   9` rows of a report, as [address, count]. */
function rows(text: string, after: string): Array<[string, number]> {
  const lines = text.split('\n');
  const from = lines.findIndex((l) => l.startsWith(after));
  const out: Array<[string, number]> = [];
  for (const l of lines.slice(from + 1)) {
    const m = /^\s+(\S+)\s+(\d+)$/.exec(l);
    if (!m) break;
    out.push([m[1] as string, Number(m[2])]);
  }
  return out;
}

describe('the example on a fresh clone', () => {
  it('has every file of examples/ committed: nothing there is ignored', async () => {
    expect(git(ROOT, 'ls-files', '--others', '--ignored', '--exclude-standard', 'examples')).toBe('');
    expect(git(clone, 'ls-files', 'examples/repo/data/logs').split('\n').sort()).toEqual([
      'examples/repo/data/logs/auth.log',
      'examples/repo/data/logs/system.log',
    ]);
  });

  it('runs security-review with the findings the sample data holds', async () => {
    const report = JSON.parse(await cli('run', 'task', 'security-review', 'examples/repo', '--json')) as Report;
    expect(report.status).toBe('succeeded');
    const out = Object.fromEntries(report.subtasks.map((s) => [s.name, s.output]));
    for (const s of report.subtasks) expect(s.output, s.name).not.toMatch(/cannot open|No such file/);

    const auth = out['auth-failure-audit'] as string;
    expect(auth).toContain('auth failures since 2026-11-18T23:40:00Z (service: all): 25');
    expect(rows(auth, 'sources with at least 3 failures')).toEqual([
      ['203.0.113.7', 9],
      ['198.51.100.23', 6],
      ['192.0.2.44', 4],
      ['203.0.113.9', 3],
    ]);

    const deps = out['dependency-scan'] as string;
    expect(deps).toContain('16 pinned dependencies in 3 manifests');
    expect(deps).toContain('7 vulnerable dependencies at or above medium');
    const cves = [...deps.matchAll(/^\s+(npm|python|go)\s+(\S+)\s+(\S+)\s+(CVE-\d+-\d+)/gm)].map((m) =>
      [m[2], m[3], m[4]].join(' '),
    );
    expect(cves).toEqual([
      'express 4.17.1 CVE-2024-29041',
      'jsonwebtoken 8.5.1 CVE-2022-23529',
      'lodash 4.17.20 CVE-2021-23337',
      'urllib3 1.26.17 CVE-2023-45803',
      'jinja2 3.1.2 CVE-2024-22195',
      'golang.org/x/net v0.17.0 CVE-2023-44487',
      'google.golang.org/grpc v1.58.2 CVE-2023-44487',
    ]);

    const compliance = out['compliance-checklist'] as string;
    expect(compliance).toContain('9 controls: 5 done, 2 in progress, 2 open');
    expect([...compliance.matchAll(/^\s+(\S+)\s+\S+\s+(open|in-progress)/gm)].map((m) => m[1])).toEqual([
      'CC6.2',
      'CC7.2',
      'A.8.8',
      'A.8.16',
    ]);

    const incidents = out['incident-summary'] as string;
    expect(incidents).toContain('4 incident(s):');
    expect(incidents).toMatch(/2026-11-12 {2}sev1 {2}monitoring {2}Credential stuffing against bastion hosts/);
  });

  it('runs infrastructure-audit with findings by host and the nested auth audit', async () => {
    const { output } = await runSkill('infrastructure-audit');
    expect(output).toContain('system log since 2026-11-20T23:55:00Z, scope all:');
    const hosts = [...output.matchAll(/^\s+(\S+)\s+(warn|error)\s+(\d+)\s+last:/gm)].map(
      (m) => `${m[1]} ${m[2]} ${m[3]}`,
    );
    expect(hosts).toEqual(['bastion-1 warn 1', 'db-1 warn 1', 'edge-1 warn 3', 'vpn-gw error 1', 'vpn-gw warn 4']);
    expect(rows(output, 'sources with at least 5 failures')).toEqual([
      ['203.0.113.7', 9],
      ['198.51.100.23', 6],
    ]);
  });

  it('runs log-search over both logs', async () => {
    const { output } = await runSkill('log-search', 'pattern=src=203\\.0\\.113\\.7', 'limit=3');
    expect(output.split('\n')[0]).toBe('9 match(es) for /src=203\\.0\\.113\\.7/ in all log(s)');
    expect(output.split('\n').slice(1, 4)).toEqual([
      expect.stringMatching(
        /^2026-11-19T02:01:28Z host=\S+ service=sshd event=auth_failure user=ubuntu src=203\.0\.113\.7 /,
      ),
      expect.stringMatching(/^2026-11-19T01:56:17Z .* src=203\.0\.113\.7 /),
      expect.stringMatching(/^2026-11-19T01:51:06Z .* src=203\.0\.113\.7 /),
    ]);
    const system = await runSkill('log-search', 'pattern=level=error', 'log=system');
    expect(system.output.split('\n')[0]).toBe('3 match(es) for /level=error/ in system log(s)');
  });

  it('runs auth-failure-audit, dependency-scan, compliance-check and incident-summary with their params', async () => {
    const vpn = await runSkill('auth-failure-audit', 'service=vpn', 'threshold=2');
    expect(vpn.output).toContain('(service: vpn): 8');
    expect(rows(vpn.output, 'sources with at least 2 failures')).toEqual([
      ['198.51.100.23', 6],
      ['10.20.0.15', 2],
    ]);
    const high = await runSkill('dependency-scan', 'min-severity=high', 'ecosystem=go');
    expect(high.output).toContain('2 vulnerable dependencies at or above high');
    const iso = await runSkill('compliance-check', 'framework=iso27001');
    expect(iso.output).toContain('4 controls: 2 done, 1 in progress, 1 open');
    const recent = await runSkill('incident-summary', 'since=2026-11-10', 'severity=all');
    expect(recent.output).toContain('2 incident(s):');
  });
});
