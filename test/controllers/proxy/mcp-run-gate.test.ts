// MCP tool calls within the Runtime's limits: at most `maximum` at once, at most
// `queueLimit` waiting, and the next refused with QueueFull.

import { describe, expect, it } from 'vitest';
import { RunGate } from '../../../controllers/proxy/index.js';
import { CaduceusError } from '../../../reconciler/errors.js';

describe('RunGate', () => {
  it('runs up to maximum at once, queues up to queueLimit and refuses the next with QueueFull', async () => {
    const gate = new RunGate();
    const limits = { default: 1, maximum: 2, queueLimit: 1 };
    const release: Array<() => void> = [];
    let running = 0;
    let peak = 0;
    const job = (): Promise<void> =>
      gate.run(limits, async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => release.push(r));
        running--;
      });
    const jobs = [job(), job(), job()];
    await expect(job()).rejects.toSatisfy((e) => e instanceof CaduceusError && e.code === 'QueueFull');
    expect(release).toHaveLength(2);
    release.shift()?.();
    await new Promise((r) => setImmediate(r));
    expect(release).toHaveLength(2);
    for (const r of release.splice(0)) r();
    await new Promise((r) => setImmediate(r));
    for (const r of release.splice(0)) r();
    await Promise.all(jobs);
    expect(peak).toBe(2);
  });
});
