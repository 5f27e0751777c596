// `caduceus ask` and `caduceus runs show` as users call them: the compiled CLI spawned
// against a temp configuration whose Runtime points at the scripted model.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/temp.js';
import { configDir, doc } from '../../helpers/config.js';
import { KEY_ENV, runtimeWithLlm } from './harness.js';
import { inOrder, MODEL_KEY, startScriptedModel, type Script, type ScriptedModel } from './scripted-model.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CLI = join(ROOT, 'dist', 'app', 'cli.js');

beforeAll(() => {
  spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' });
  expect(existsSync(CLI)).toBe(true);
}, 180_000);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function caduceus(args: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: tempDir('caduceus-ask-cwd-'),
      env: { ...process.env, NO_COLOR: '1', [KEY_ENV]: MODEL_KEY, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function setup(script: Script): Promise<{ model: ScriptedModel; dir: string; state: string }> {
  const model = await startScriptedModel(script);
  const dir = configDir({
    'runtime.yaml': runtimeWithLlm(model.url),
    'skills/disk.yaml': doc('Skill', 'disk-usage', {
      version: '1.0.0',
      description: 'Reports disk usage of a mount',
      params: [{ name: 'mount', type: 'string', required: true }],
      steps: [{ run: 'echo "$PARAM_MOUNT 42% used"' }],
      agent: { tools: ['disk-usage', 'read_file'] },
    }),
  });
  const state = tempDir('caduceus-ask-state-');
  cleanups.push(
    () => model.close(),
    () => rmSync(dir, { recursive: true, force: true }),
    () => rmSync(state, { recursive: true, force: true }),
  );
  return { model, dir, state };
}

describe('caduceus ask', () => {
  it('prints tool calls as they start and end, the answer on stdout, and keeps the trace for runs show', async () => {
    const { dir, state, model } = await setup(
      inOrder([
        { toolCalls: [{ name: 'disk-usage', arguments: { mount: '/var' } }] },
        { content: '/var is 42% full.' },
      ]),
    );
    const r = await caduceus(['ask', 'How full is /var?', dir, '--state-dir', state]);
    expect(r.stderr).toMatch(/\] ▶ disk-usage \{"mount":"\/var"\}\n/);
    expect(r.stderr).toMatch(/\] ✓ disk-usage succeeded in \d+ms\n/);
    expect(r.stderr).toMatch(/agent run [0-9a-f-]{36} succeeded in .* \(1 tool call\(s\), 2 turn\(s\), 30 tokens\)/);
    expect(r.stdout).toBe('/var is 42% full.\n');
    expect(r.code).toBe(0);
    expect(model.requests[0]?.body.messages.at(-1)).toEqual({ role: 'user', content: 'How full is /var?' });

    const id = /agent run ([0-9a-f-]{36})/.exec(r.stderr)?.[1] as string;
    const shown = await caduceus(['runs', 'show', id.slice(0, 8), '--state-dir', state]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`agent run ${id} (ask) succeeded`);
    expect(shown.stdout).toContain('model scripted-1, stopped: answer; 2 turn(s), 1 tool call(s), 30 tokens');
    expect(shown.stdout).toMatch(
      /turn 1 \(\d+ms, 15 tokens, tool_calls\)\n {2}#1 disk-usage \{"mount":"\/var"\} {2}succeeded/,
    );
    expect(shown.stdout).toContain('      /var 42% used');
    expect(shown.stdout).toContain('answer:\n    /var is 42% full.');
    expect(shown.stdout).toMatch(
      /started by this run:\nID +KIND +NAME +STATUS +DURATION\n[0-9a-f]{8} +skill +disk-usage@1\.0\.0 +succeeded/,
    );

    const whole = await caduceus(['runs', 'show', id, '--state-dir', state, '--json']);
    const parsed = JSON.parse(whole.stdout) as { run: { kind: string }; trace: { toolCalls: unknown[] } };
    expect(parsed.run.kind).toBe('agent');
    expect(parsed.trace.toolCalls).toHaveLength(1);

    const listed = await caduceus(['runs', '--agent', '--state-dir', state]);
    expect(listed.stdout).toMatch(/agent +ask +cli \(user:[^)]+\) +succeeded/);
  });

  it('--json prints the whole run; a run that hits a limit exits 1', async () => {
    const { dir, state } = await setup(() => ({ toolCalls: [{ name: 'disk-usage', arguments: { mount: '/' } }] }));
    const r = await caduceus(['ask', 'loop', dir, '--state-dir', state, '--json'], {});
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout) as {
      status: string;
      stopReason: string;
      toolCalls: unknown[];
      messages: unknown[];
    };
    expect(result.status).toBe('failed');
    expect(result.stopReason).toBe('maxTurns');
    expect(result.toolCalls).toHaveLength(19);
    expect(result.messages.length).toBeGreaterThan(20);
  });

  it('--skill follows a skill as a playbook with its own allow-list', async () => {
    const { dir, state, model } = await setup(inOrder([{ content: 'followed' }]));
    const r = await caduceus(['ask', 'check the disks', dir, '--state-dir', state, '--skill', 'disk-usage']);
    expect(r.code).toBe(0);
    const body = model.requests[0]?.body;
    expect(body?.tools?.map((t) => t.function.name)).toEqual(['read_file', 'disk-usage']);
    expect(body?.messages.filter((m) => m.role === 'system').at(-1)?.content).toBe(
      'Follow the team\'s skill "disk-usage" (v1.0.0): Reports disk usage of a mount. ' +
        'You may call it as a tool, or do its work step by step with the other tools.',
    );
  });

  it('runs show prints a skill run with its steps', async () => {
    const { dir, state } = await setup(inOrder([]));
    const run = await caduceus(['run', 'skill', 'disk-usage', '-p', 'mount=/srv', dir, '--state-dir', state]);
    expect(run.code).toBe(0);
    const id = /\(run ([0-9a-f-]{36})\)/.exec(run.stdout)?.[1] as string;
    const shown = await caduceus(['runs', 'show', id, '--state-dir', state]);
    expect(shown.stdout).toContain(`skill disk-usage@1.0.0 succeeded in`);
    expect(shown.stdout).toMatch(/STEP +ID +KIND +STATUS +EXIT +DURATION +ERROR\n1 +run +succeeded +0 /);
    expect(shown.stdout).toContain('output:\n    /srv 42% used');
    const missing = await caduceus(['runs', 'show', 'ffffffff', '--state-dir', state]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('caduceus: no run "ffffffff" (caduceus runs lists them)\n');
  });

  it('fails closed with exit 1 and the reference to set when the key is unset', async () => {
    const { dir, state, model } = await setup(inOrder([{ content: 'never' }]));
    const r = await caduceus(['ask', 'hi', dir, '--state-dir', state], { [KEY_ENV]: undefined });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `caduceus: the LLM key of Runtime/default (spec.llm.apiKey, env ${KEY_ENV}) is unset or empty; ` +
        `agent runs stay off until it is set (export ${KEY_ENV}=…)\n`,
    );
    expect(model.requests).toHaveLength(0);
  });

  it('exits 1 with file:line:column when a prompt subtask has no llm upstream', async () => {
    const dir = configDir({
      'runtime.yaml': doc('Runtime', 'default', {}),
      'task.yaml': doc('Task', 't', { subtasks: [{ name: 'think', prompt: 'hi' }] }),
    });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const r = await caduceus(['ask', 'hi', dir, '--state-dir', tempDir('caduceus-ask-state-')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'task.yaml:8:15  error  subtask "think" is a prompt for the agent, but Runtime/default has no spec.llm upstream',
    );
  });
});
