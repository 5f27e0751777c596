import { describe, it, expect, afterEach, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { CaduceusError } from '../../../reconciler/errors.js';
import { RunStore } from '../../../reconciler/state/runs.js';
import { resolveSecret } from '../../../reconciler/secrets.js';
import { harness, runtime, skill, cli, type Harness } from './helpers.js';
import { tempDir } from '../../helpers/temp.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function rejection(p: Promise<unknown>): Promise<CaduceusError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(CaduceusError);
    return err as CaduceusError;
  }
  throw new Error('expected a rejection');
}

describe('skill params', () => {
  const greet = skill('greet', {
    aliases: ['hello'],
    params: [
      { name: 'who', type: 'string', required: true },
      { name: 'times', type: 'number', required: false, default: 1 },
      { name: 'loud', type: 'boolean', required: false, default: false },
      { name: 'tone', type: 'enum', required: false, values: ['warm', 'dry'], default: 'warm' },
      { name: 'wait-for', type: 'duration', required: false },
    ],
    steps: [{ run: 'echo "$PARAM_WHO $PARAM_TIMES $PARAM_LOUD $PARAM_TONE ${PARAM_WAIT_FOR:-none}"' }],
  });

  it('applies defaults, coerces CLI strings and names dashed params PARAM_WAIT_FOR', async () => {
    h = harness([greet]);
    const r = await h.runner.runSkill('greet', { who: 'ada', times: '3', loud: 'true', 'wait-for': '1h30m' }, cli);
    expect(r.status).toBe('succeeded');
    expect(r.output.trim()).toBe('ada 3 true warm 1h30m');
  });

  it('rejects a missing required param, naming it', async () => {
    h = harness([greet]);
    const err = await rejection(h.runner.runSkill('greet', {}, cli));
    expect(err.code).toBe('MissingParam');
    expect(err.field).toBe('params.who');
  });

  it('rejects an unknown param, naming it', async () => {
    h = harness([greet]);
    const err = await rejection(h.runner.runSkill('greet', { who: 'a', colour: 'red' }, cli));
    expect(err.code).toBe('UnknownParam');
    expect(err.field).toBe('params.colour');
  });

  it.each([
    ['times', 'many'],
    ['loud', 'yes'],
    ['tone', 'angry'],
    ['wait-for', 'soon'],
  ])('rejects %s=%s as the wrong type', async (name, value) => {
    h = harness([greet]);
    const err = await rejection(h.runner.runSkill('greet', { who: 'a', [name]: value }, cli));
    expect(err.code).toBe('InvalidParam');
    expect(err.field).toBe(`params.${name}`);
  });

  it('resolves an alias and records the run under the canonical name with version, hash and trigger', async () => {
    h = harness([greet]);
    const started = performance.now();
    const r = await h.runner.runSkill(
      'hello',
      { who: 'bob' },
      { trigger: { source: 'gateway:discord', actor: 'discord:42' } },
    );
    expect(r.skill).toBe('greet');
    const rec = new RunStore(h.store).get(r.runId);
    expect(rec).toMatchObject({
      kind: 'skill',
      name: 'greet',
      version: '1.0.0',
      specHash: greet.hash,
      trigger: 'gateway:discord',
      actor: 'discord:42',
      status: 'succeeded',
    });
    // The recorded duration is the run's own: a whole number of ms within the call's wall time.
    const elapsed = performance.now() - started;
    expect(Number.isInteger(rec?.durationMs)).toBe(true);
    expect(rec?.durationMs).toBeLessThanOrEqual(Math.ceil(elapsed));
  });

  it('rejects an unknown skill with UnknownSkill', async () => {
    h = harness([greet]);
    expect((await rejection(h.runner.runSkill('nope', {}, cli))).code).toBe('UnknownSkill');
  });
});

describe('injection', () => {
  it('never lets a param value run as shell code', async () => {
    const victim = tempDir('caduceus-victim-');
    writeFileSync(join(victim, 'keep'), 'still here');
    h = harness([
      skill('echo', {
        params: [{ name: 'msg', type: 'string', required: true }],
        steps: [{ run: 'echo "got: $PARAM_MSG"' }, { run: 'printf "%s" "$PARAM_MSG" > value.txt; cat value.txt' }],
      }),
    ]);
    const payloads = [
      `; rm -rf ${victim} #`,
      '$(touch pwned)',
      '`touch pwned`',
      `"; rm -rf ${victim}; echo "`,
      `' && touch pwned && '`,
    ];
    for (const p of payloads) {
      const r = await h.runner.runSkill('echo', { msg: p }, cli);
      expect(r.status).toBe('succeeded');
      expect(r.steps[0]?.outputTail.trim()).toBe(`got: ${p}`);
      expect(r.output).toBe(p);
    }
    expect(readFileSync(join(victim, 'keep'), 'utf8')).toBe('still here');
    expect(existsSync(join(process.cwd(), 'pwned'))).toBe(false);
    expect(existsSync(join(h.stateDir, 'pwned'))).toBe(false);
  });
});

describe('steps', () => {
  it('hands a step output to later steps as STEP_<ID>_OUTPUT and returns the last output', async () => {
    h = harness([
      skill('pipeline', {
        steps: [
          // Leading blank lines and trailing white space go; the first line keeps its indentation (columns line up).
          { id: 'first', run: 'printf "\\n\\n  alpha  \\n  beta\\n\\n"' },
          { id: 'second-one', run: 'echo "[$STEP_FIRST_OUTPUT]"' },
          { run: 'echo "$STEP_SECOND_ONE_OUTPUT and $CADUCEUS_SKILL in $(basename $CADUCEUS_WORKSPACE)"' },
        ],
      }),
    ]);
    const r = await h.runner.runSkill('pipeline', {}, cli);
    expect(r.status).toBe('succeeded');
    expect(r.output.trim()).toBe(`[  alpha  \n  beta] and pipeline in ${r.runId}`);
    expect(r.steps.map((s) => [s.kind, s.status, s.exitCode])).toEqual([
      ['run', 'succeeded', 0],
      ['run', 'succeeded', 0],
      ['run', 'succeeded', 0],
    ]);
  });

  it('stops at a failing step, skips the rest, and continues past one marked continueOnError', async () => {
    h = harness([
      skill('flaky', {
        steps: [{ run: 'echo a; exit 4', continueOnError: true }, { run: 'echo b; exit 5' }, { run: 'echo c' }],
      }),
    ]);
    const r = await h.runner.runSkill('flaky', {}, cli);
    expect(r.status).toBe('failed');
    expect(r.steps.map((s) => s.status)).toEqual(['failed', 'failed', 'skipped']);
    expect(r.steps[1]?.exitCode).toBe(5);
    expect(r.error).toContain('step 2');
    expect(new RunStore(h.store).get(r.runId)?.status).toBe('failed');
  });

  it('times out a step by its own timeout and the whole skill by its timeout', async () => {
    h = harness([
      skill('slow-step', { steps: [{ run: 'sleep 20', timeout: '300ms' }, { run: 'echo after' }] }),
      skill('slow-skill', {
        timeout: '400ms',
        steps: [{ run: 'sleep 0.1' }, { run: 'sleep 20' }, { run: 'echo never' }],
      }),
    ]);
    const a = await h.runner.runSkill('slow-step', {}, cli);
    expect(a.status).toBe('timedOut');
    expect(a.steps.map((s) => s.status)).toEqual(['timedOut', 'skipped']);
    const b = await h.runner.runSkill('slow-skill', {}, cli);
    expect(b.status).toBe('timedOut');
    expect(b.steps.map((s) => s.status)).toEqual(['succeeded', 'timedOut', 'skipped']);
    expect(b.durationMs).toBeLessThan(10_000);
    expect(new RunStore(h.store).get(b.runId)?.status).toBe('timedOut');
  });

  it('exposes the configuration directory as CADUCEUS_CONFIG_DIR', async () => {
    const configDir = tempDir('caduceus-config-');
    writeFileSync(join(configDir, 'sample.txt'), 'from config');
    h = harness([skill('cfg', { steps: [{ run: 'cat "$CADUCEUS_CONFIG_DIR/sample.txt"' }] })], { configDir });
    expect((await h.runner.runSkill('cfg', {}, cli)).output).toBe('from config');
  });
});

describe('secrets', () => {
  it('redacts a resolved secret from step outputs and the recorded run', async () => {
    process.env.CADUCEUS_TEST_TOKEN = 'tok-9f8e7d6c5b4a';
    resolveSecret({ valueFrom: { env: 'CADUCEUS_TEST_TOKEN' } });
    h = harness([
      skill('leaky', {
        params: [{ name: 't', type: 'string', required: true }],
        steps: [{ run: 'echo "token is $PARAM_T"' }],
      }),
    ]);
    const r = await h.runner.runSkill('leaky', { t: 'tok-9f8e7d6c5b4a' }, cli);
    expect(r.output.trim()).toBe('token is [REDACTED]');
    expect(JSON.stringify(new RunStore(h.store).get(r.runId))).not.toContain('tok-9f8e7d6c5b4a');
    delete process.env.CADUCEUS_TEST_TOKEN;
  });
});

describe('skill steps', () => {
  it('calls another skill with interpolated params and records it as a child run', async () => {
    h = harness([
      skill('inner', {
        params: [{ name: 'x', type: 'string', required: true }],
        steps: [{ run: 'echo "inner got $PARAM_X"; echo shared > from-inner' }],
      }),
      skill('outer', {
        params: [{ name: 'name', type: 'string', required: true }],
        steps: [
          { id: 'call', skill: { name: 'inner', params: { x: 'hi ${{ params.name }}' } } },
          { run: 'echo "$STEP_CALL_OUTPUT / $(cat from-inner)"' },
        ],
      }),
    ]);
    const r = await h.runner.runSkill('outer', { name: '$(touch pwned)' }, cli);
    expect(r.status).toBe('succeeded');
    expect(r.output.trim()).toBe('inner got hi $(touch pwned) / shared');
    const children = new RunStore(h.store).list({ parentId: r.runId });
    expect(children.map((c) => [c.name, c.status])).toEqual([['inner', 'succeeded']]);
  });

  it('stops a skill that calls itself at the depth limit', async () => {
    h = harness([skill('loop', { steps: [{ run: 'echo level' }, { skill: { name: 'loop' } }] })]);
    const r = await h.runner.runSkill('loop', {}, cli);
    expect(r.status).toBe('failed');
    expect(r.error).toContain('nest deeper than 8');
    // Eight levels ran and were recorded, the ninth was refused.
    expect(new RunStore(h.store).list({ kind: 'skill', name: 'loop', limit: 100 })).toHaveLength(8);
  });
});

describe('file steps', () => {
  it('writes, appends and reads inside the workspace, visible to shell steps', async () => {
    h = harness([
      skill('files', {
        params: [{ name: 'line', type: 'string', required: true }],
        steps: [
          { file: { path: 'out/notes.txt', action: 'write', content: 'first ${{ params.line }}\n' } },
          { file: { path: 'out/notes.txt', action: 'append', content: 'second\n' } },
          { run: 'wc -l < out/notes.txt' },
          { file: { path: 'out/notes.txt', action: 'read' } },
        ],
      }),
    ]);
    const r = await h.runner.runSkill('files', { line: 'L' }, cli);
    expect(r.status).toBe('succeeded');
    expect(r.steps[2]?.outputTail.trim()).toBe('2');
    expect(r.output).toBe('first L\nsecond\n');
  });

  it.each([
    ['../escape.txt', 'contains ".."'],
    ['a/../../escape.txt', 'contains ".."'],
    ['/etc/passwd', 'is absolute'],
    ['link-out/passwd', 'symlink'],
    ['dangling', 'symlink'],
  ])('rejects the path %s', async (path, why) => {
    const outside = tempDir('caduceus-outside-');
    writeFileSync(join(outside, 'passwd'), 'outside');
    h = harness([
      skill('escape', {
        steps: [
          { run: `ln -s ${outside} link-out; ln -s ${join(outside, 'new-file')} dangling` },
          { file: { path, action: 'write', content: 'pwned' } },
        ],
      }),
    ]);
    const r = await h.runner.runSkill('escape', {}, cli);
    expect(r.status).toBe('failed');
    expect(r.steps[1]?.error).toContain(why);
    expect(readFileSync(join(outside, 'passwd'), 'utf8')).toBe('outside');
    expect(existsSync(join(outside, 'new-file'))).toBe(false);
  });

  it('allows a symlink that stays inside the workspace', async () => {
    h = harness([
      skill('inside-link', {
        steps: [
          { run: 'mkdir real && echo ok > real/f && ln -s real alias' },
          { file: { path: 'alias/f', action: 'read' } },
        ],
      }),
    ]);
    expect((await h.runner.runSkill('inside-link', {}, cli)).output).toBe('ok\n');
  });
});

describe('http steps', () => {
  let server: Server;
  let base: string;
  const seen: Array<{ method: string; url: string; body: string; headers: Record<string, unknown> }> = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers });
        if (req.url?.startsWith('/slow')) return void setTimeout(() => res.end('late'), 5000);
        res.statusCode = req.url?.startsWith('/missing') ? 404 : 200;
        res.end(`answer to ${req.method} ${req.url}`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('sends the request with URL-encoded and JSON-escaped params and returns the body', async () => {
    seen.length = 0;
    h = harness([
      skill('post', {
        params: [{ name: 'q', type: 'string', required: true }],
        steps: [
          {
            id: 'call',
            http: {
              method: 'POST',
              url: `${base}/search?q=\${{ params.q }}`,
              headers: { 'content-type': 'application/json', 'x-q': 'v' },
              body: '{"q":"${{ params.q }}"}',
            },
          },
          { run: 'echo "got $STEP_CALL_OUTPUT"' },
        ],
      }),
    ]);
    const q = 'a&b="c" /?';
    const r = await h.runner.runSkill('post', { q }, cli);
    expect(r.status).toBe('succeeded');
    expect(seen[0]?.url).toBe(`/search?q=${encodeURIComponent(q)}`);
    expect(JSON.parse(seen[0]?.body as string)).toEqual({ q });
    expect(seen[0]?.headers['x-q']).toBe('v');
    expect(r.output.trim()).toBe(`got answer to POST /search?q=${encodeURIComponent(q)}`);
  });

  it('fails on an unexpected status and accepts it when listed in expectStatus', async () => {
    h = harness([
      skill('strict', { steps: [{ http: { method: 'GET', url: `${base}/missing` } }] }),
      skill('lenient', { steps: [{ http: { method: 'GET', url: `${base}/missing`, expectStatus: [404] } }] }),
    ]);
    const a = await h.runner.runSkill('strict', {}, cli);
    expect(a.status).toBe('failed');
    expect(a.steps[0]?.error).toContain('answered 404 (expected 2xx)');
    expect((await h.runner.runSkill('lenient', {}, cli)).status).toBe('succeeded');
  });

  it('times out a slow request by the step timeout', async () => {
    h = harness([skill('slow', { steps: [{ http: { method: 'GET', url: `${base}/slow` }, timeout: '300ms' }] })]);
    const r = await h.runner.runSkill('slow', {}, cli);
    expect(r.status).toBe('timedOut');
    expect(r.steps[0]?.durationMs).toBeLessThan(3000);
  });
});

describe('cancellation', () => {
  it('cancels the running step and skips the rest when the caller aborts', async () => {
    h = harness([runtime(), skill('long', { steps: [{ run: 'sleep 20' }, { run: 'echo after' }] })]);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const r = await h.runner.runSkill('long', {}, { ...cli, signal: ac.signal });
    expect(r.status).toBe('cancelled');
    expect(r.steps.map((s) => s.status)).toEqual(['cancelled', 'skipped']);
  });
});
