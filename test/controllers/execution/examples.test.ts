import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import { loadDirectory } from '../../../reconciler/loader.js';
import type { Resource } from '../../../reconciler/types.js';
import { harness, cli, type Harness } from './helpers.js';
import { dockerReady, runDockerTests } from './docker-env.js';

// Every skill of examples/repo, loaded by the real loader, runs with its defaults (and a
// sample value for required params) against the shipped data, locally and in Docker.
const configDir = join(process.cwd(), 'examples/repo');
const loaded = await loadDirectory(configDir);
const ready = await dockerReady();
const skills = loaded.resources.filter((r): r is Resource<'Skill'> => r.kind === 'Skill');
const sample: Record<string, string> = { pattern: 'Failed password', query: 'disk', incident: 'dns', service: 'api' };

function paramsFor(s: Resource<'Skill'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of s.spec.params)
    if (p.required && p.default === undefined) out[p.name] = sample[p.name] ?? p.values?.[0] ?? 'x';
  return out;
}

const harnesses: Harness[] = [];
afterAll(async () => {
  for (const h of harnesses) await h.close();
});

function withMode(mode: 'local' | 'docker'): Harness {
  const resources = loaded.resources
    .filter((r) => r.kind === 'Runtime' || r.kind === 'Skill')
    .map((r) =>
      r.kind === 'Runtime'
        ? ({ ...r, spec: { ...r.spec, execution: { ...(r as Resource<'Runtime'>).spec.execution, mode } } } as Resource)
        : r,
    );
  const h = harness(resources, { configDir });
  harnesses.push(h);
  return h;
}

describe('examples/repo skills', () => {
  it('loads without errors', () => {
    expect(loaded.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(skills.length).toBeGreaterThan(0);
  });

  const local = skills.length ? withMode('local') : undefined;
  // The skills are independent (each run has its own workspace), so they run at once.
  it.concurrent.for(skills.map((s) => [s.metadata.name, s] as const))('runs %s locally', async ([, s], { expect }) => {
    const r = await local!.runner.runSkill(s.metadata.name, paramsFor(s), cli);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('succeeded');
    expect(r.output.trim().length).toBeGreaterThan(0);
  });
});

describe.runIf(runDockerTests(ready))('examples/repo skills in Docker', () => {
  const docker = skills.length ? withMode('docker') : undefined;
  it.concurrent.for(skills.map((s) => [s.metadata.name, s] as const))(
    'runs %s in the sandbox',
    // The containers start at once and share the CPU.
    { timeout: 120_000 },
    async ([, s], { expect }) => {
      const r = await docker!.runner.runSkill(s.metadata.name, paramsFor(s), cli);
      expect(r.error).toBeUndefined();
      expect(r.status).toBe('succeeded');
      expect(r.output.trim().length).toBeGreaterThan(0);
    },
  );
});
