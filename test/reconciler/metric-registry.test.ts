import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registeredCounter, registeredHistogram } from '../../reconciler/metric-registry.js';

describe('metric get-or-create', () => {
  it('hands a second registration on the same registry the series already there', async () => {
    const registry = new Registry();
    const config = { name: 'caduceus_test_total', help: 'test', labelNames: ['kind'] as const };
    const first = registeredCounter(registry, config);
    first.inc({ kind: 'a' });
    const second = registeredCounter(registry, config);
    expect(second).toBe(first);
    second.inc({ kind: 'a' });
    expect(await registry.metrics()).toContain('caduceus_test_total{kind="a"} 2');
    // Another registry gets its own series.
    expect(registeredCounter(new Registry(), config)).not.toBe(first);
  });

  it('refuses a name already registered as another type', () => {
    const registry = new Registry();
    registeredCounter(registry, { name: 'caduceus_test_seconds', help: 'test' });
    expect(() => registeredHistogram(registry, { name: 'caduceus_test_seconds', help: 'test' })).toThrow(
      'metric caduceus_test_seconds is already registered with another type',
    );
  });
});
