import { describe, expect, it } from 'vitest';
import { defaultRuntime, effectiveRuntime, runtimeWithDefaults } from '../../reconciler/runtime-defaults.js';
import { defaultSpec } from '../../reconciler/spec-defaults.js';
import type { RuntimeSpec } from '../../reconciler/specs.js';

describe('Runtime defaults (one owner: the schema)', () => {
  it('are the schema defaults of an empty Runtime spec', () => {
    expect(defaultRuntime()).toEqual(defaultSpec('Runtime'));
    expect(defaultRuntime()).toMatchObject({
      execution: { mode: 'local', outputLimitBytes: 1048576 },
      concurrency: { default: 3, maximum: 6, queueLimit: 100 },
      retry: { maxAttempts: 3, initialDelay: '1s', maxDelay: '1m', factor: 2, jitter: 0.2 },
    });
  });

  it('are shared read-only, while defaultSpec hands out a copy a caller may change', () => {
    expect(() => {
      (defaultRuntime().concurrency as { default: number }).default = 9;
    }).toThrow(TypeError);
    const copy = defaultSpec('Runtime');
    copy.concurrency.default = 9;
    expect(defaultSpec('Runtime').concurrency.default).toBe(3);
  });

  it('fill each section of a partial Runtime field by field, and stand in for a missing one', () => {
    const partial = { concurrency: { maximum: 2 }, execution: { mode: 'docker' } } as unknown as Partial<RuntimeSpec>;
    const rt = runtimeWithDefaults(partial);
    expect(rt.concurrency).toEqual({ default: 3, maximum: 2, queueLimit: 100 });
    expect(rt.execution).toEqual({ ...defaultRuntime().execution, mode: 'docker' });
    expect(effectiveRuntime({ revision: 'r', resources: new Map() })).toBe(defaultRuntime());
  });

  it('are merged once per Runtime spec and shared read-only; another spec gets its own', () => {
    const spec = { concurrency: { maximum: 2 } } as unknown as Partial<RuntimeSpec>;
    const first = runtimeWithDefaults(spec);
    expect(runtimeWithDefaults(spec)).toBe(first);
    expect(() => {
      (first.concurrency as { maximum: number }).maximum = 9;
    }).toThrow(TypeError);
    expect(() => {
      (first.agent.limits as { maxTurns: number }).maxTurns = 9;
    }).toThrow(TypeError);
    const next = { concurrency: { maximum: 4 } } as unknown as Partial<RuntimeSpec>;
    expect(runtimeWithDefaults(next).concurrency.maximum).toBe(4);
    expect(runtimeWithDefaults(spec).concurrency.maximum).toBe(2);
  });
});
