// One global limit on work in flight: whoever starts it (task subtasks, the proxy, the
// gateway, the CLI, the agent through the runner), no more than the Runtime's
// concurrency.maximum runs at once; the rest wait in arrival order while the queue has
// room, and only beyond queueLimit is a run refused (QueueFull).

import { describe, it, expect, afterEach } from 'vitest';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { CaduceusError } from '../../../reconciler/errors.js';
import { defaultRuntime } from '../../../reconciler/runtime-defaults.js';
import { harness, resource, skill, cli, type Harness } from './helpers.js';
import {
  harness as proxyHarness,
  freePort,
  proxyYaml,
  skillYaml,
  type Harness as ProxyHarness,
} from '../proxy/harness.js';
import { tempDir } from '../../helpers/temp.js';
import { doc } from '../../helpers/config.js';

let h: Harness | undefined;
let p: ProxyHarness | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await h?.close();
  await p?.stop();
  h = undefined;
  p = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const limited = (maximum: number, queueLimit: number) =>
  resource('Runtime', 'rt', { ...defaultRuntime(), concurrency: { default: 1, maximum, queueLimit } });

/** Each run appends `+` when it starts and `-` when it ends; the most `+` open at once. */
function peak(log: string): number {
  let open = 0;
  let max = 0;
  for (const c of readFileSync(log, 'utf8')) {
    if (c === '+') max = Math.max(max, ++open);
    if (c === '-') open--;
  }
  return max;
}

const traced = (log: string): string => `printf + >> ${log}; sleep 0.3; printf - >> ${log}; echo done`;

describe('work slots', () => {
  it('runs no more than maximum at once across exec and skill runs, and runs every queued one', async () => {
    const dir = tempDir('caduceus-slots-');
    dirs.push(dir);
    const log = join(dir, 'trace');
    h = harness([limited(2, 100), skill('traced', { steps: [{ run: traced(log) }] })]);
    const runs = [
      ...Array.from({ length: 6 }, () => h?.runner.exec({ command: traced(log) }, cli)),
      ...Array.from({ length: 4 }, () => h?.runner.runSkill('traced', {}, cli)),
    ];
    const results = await Promise.all(runs);
    expect(results.map((r) => r?.status)).toEqual(Array(10).fill('succeeded'));
    expect(readFileSync(log, 'utf8').replace(/[^+]/g, '')).toHaveLength(10);
    expect(peak(log)).toBeLessThanOrEqual(2);
  });

  it('refuses with QueueFull only what does not fit in the queue, and runs the rest', async () => {
    h = harness([limited(1, 2)]);
    const runs = Array.from({ length: 5 }, () =>
      h?.runner.exec({ command: 'sleep 0.2; echo ran' }, cli).then(
        (r) => r.status,
        (err: unknown) => (err instanceof CaduceusError ? err.code : String(err)),
      ),
    );
    expect(await Promise.all(runs)).toEqual(['succeeded', 'succeeded', 'succeeded', 'QueueFull', 'QueueFull']);
  });

  it('drops a waiting run its caller cancels, without running it', async () => {
    const dir = tempDir('caduceus-slots-');
    dirs.push(dir);
    h = harness([limited(1, 10)]);
    const first = h.runner.exec({ command: 'sleep 0.5' }, cli);
    const ac = new AbortController();
    const second = h.runner.exec({ command: `touch ${dir}/ran` }, { ...cli, signal: ac.signal });
    ac.abort();
    await expect(second).rejects.toMatchObject({ code: 'RunCancelled' });
    expect((await first).status).toBe('succeeded');
    expect(() => readFileSync(join(dir, 'ran'))).toThrow(/ENOENT/);
  });

  it("counts the proxy's requests against the same limit: they wait, then answer", async () => {
    const dir = tempDir('caduceus-slots-');
    dirs.push(dir);
    const log = join(dir, 'trace');
    process.env.SLOTS_TEST_KEY = 'sk-slots-test-0001';
    p = await proxyHarness();
    const port = await freePort();
    await p.load({
      'runtime.yaml': doc('Runtime', 'rt', { concurrency: { default: 1, maximum: 2, queueLimit: 50 } }),
      'skills/traced.yaml': skillYaml('traced', traced(log)),
      'proxy.yaml': proxyYaml('main', `port: ${port}\nkeys:\n  - valueFrom: {env: SLOTS_TEST_KEY}`),
    });
    const r = await p.reconcile('main');
    expect(r.conditions.get('Ready')).toMatchObject({ status: 'True' });
    const client = new OpenAI({ apiKey: 'sk-slots-test-0001', baseURL: `${r.observed.address}/v1`, maxRetries: 0 });
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        client.chat.completions.create({ model: 'skill/traced', messages: [{ role: 'user', content: 'go' }] }),
      ),
    );
    expect(answers.map((a) => a.choices[0]?.message.content?.trim())).toEqual(Array(8).fill('done'));
    expect(peak(log)).toBeLessThanOrEqual(2);
  });
});
