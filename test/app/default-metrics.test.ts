// Node's default metrics are registered lazily (after the first sync, or at the first
// scrape if sooner), so that loading them does not delay /readyz. Whichever comes first,
// /metrics serves the same families as prom-client's own eager registration, and the loop's.

import { describe, expect, it } from 'vitest';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { ALL_REGISTRATIONS } from '../../app/compose.js';
import { DROPPED_DEFAULT_METRICS, defaultMetricsOnce } from '../../app/default-metrics.js';
import { git, makeRepo, skillYaml } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { eventually } from '../helpers/wait.js';
import { appStarter } from '../helpers/app.js';

const start = appStarter({ registrations: ALL_REGISTRATIONS });

/** The default families prom-client's index registers at once, less the three dropped gauges. */
async function eagerDefaultFamilies(): Promise<string[]> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
  return names.filter((n) => !(DROPPED_DEFAULT_METRICS as readonly string[]).includes(n)).sort();
}

const families = (text: string): string[] => [...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1] as string);

describe('default metrics, registered lazily', () => {
  it('registers the families of prom-client eager registration once, without the *_total gauges', async () => {
    const registry = new Registry();
    const once = defaultMetricsOnce(registry);
    expect(await registry.getMetricsAsJSON()).toEqual([]);
    once();
    once();
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name).sort();
    expect(names).toEqual(await eagerDefaultFamilies());
    expect(names).toContain('process_cpu_seconds_total');
    expect(names).not.toContain('nodejs_active_handles_total');
  });

  it('serves them at a scrape right after start-up, with the loop families, each family once', async () => {
    const repo = makeRepo({ 'skills/a.yaml': skillYaml('a') });
    const app = await start({ repo, stateDir: tempDir() });
    // Not registered yet when startApp resolves: the timer that registers them runs a second later.
    expect(app.deps.metrics.getSingleMetric('process_cpu_seconds_total')).toBeUndefined();
    await app.waitForRevision(git(repo, 'rev-parse', 'HEAD'));
    const text = await (await fetch(`${app.url}/metrics`)).text();
    const served = families(text);
    expect(new Set(served).size).toBe(served.length);
    expect(served.filter((n) => !n.startsWith('caduceus_')).sort()).toEqual(await eagerDefaultFamilies());
    expect(served).toEqual(
      expect.arrayContaining([
        'caduceus_reconcile_duration_seconds',
        'caduceus_reconciles_total',
        'caduceus_revisions_total',
        'caduceus_workqueue_depth',
        'caduceus_resources',
        'caduceus_applied_revision_info',
      ]),
    );
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
  });

  it('registers them after the first sync without a scrape', async () => {
    const repo = makeRepo({ 'skills/a.yaml': skillYaml('a') });
    const app = await start({ repo, stateDir: tempDir() });
    await eventually(async () => {
      const heap = await app.deps.metrics.getSingleMetric('nodejs_heap_size_used_bytes')?.get();
      expect(heap?.name).toBe('nodejs_heap_size_used_bytes');
    });
    const served = families(await (await fetch(`${app.url}/metrics`)).text());
    expect(served.filter((n) => !n.startsWith('caduceus_')).sort()).toEqual(await eagerDefaultFamilies());
  });
});
