// The proxy in a running Caduceus (startApp with the execution and proxy controllers):
// configuration comes from commits to a real git repository. Changing the port in git
// moves the listener while a request in flight on the old port completes; status,
// /metrics and `caduceus proxy test` see the proxy.

import { afterEach, describe, expect, it, vi } from 'vitest';
import OpenAI from 'openai';
import { connect } from 'node:net';
import { startApp, type App } from '../../../app/app.js';
import { register as executionRegister } from '../../../controllers/execution/index.js';
import { register as proxyRegister } from '../../../controllers/proxy/index.js';
import { main as proxyCommand } from '../../../controllers/proxy/cli.js';
import { commitAll, makeRepo, writeFiles } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';
import { freePort, proxyYaml, skillYaml } from './harness.js';

const KEY = 'sk-app-test-key-0001';
const apps: App[] = [];
afterEach(async () => {
  while (apps.length) await apps.pop()?.stop();
});

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

async function runCli(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    return { code: await proxyCommand(argv), out };
  } finally {
    spy.mockRestore();
  }
}

describe('proxy driven from git', () => {
  it('moves to the port of a new commit while an in-flight request on the old port completes', async () => {
    process.env.PROXY_APP_KEY = KEY;
    const [p1, p2] = [await freePort(), await freePort()];
    const repo = makeRepo({
      'skills/slow.yaml': skillYaml(
        'slow',
        'sleep 1.5; printf "finished %s" "$PARAM_TAG"',
        '  params:\n    - name: tag\n      type: string\n      required: true\n',
      ),
      'proxy.yaml': proxyYaml('edge', `port: ${p1}\nkeys:\n  - valueFrom: {env: PROXY_APP_KEY}`),
    });
    const stateDir = tempDir();
    const app = await startApp({
      repo,
      stateDir,
      listen: '127.0.0.1:0',
      registrations: [executionRegister, proxyRegister],
    });
    apps.push(app);
    await app.waitForRevision(app.reconciler.snapshot().revision, 10_000);
    const status = app.core.status('Proxy/edge');
    expect(status?.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Listening' });
    expect(status?.observed.address).toBe(`http://127.0.0.1:${p1}`);

    const oldClient = new OpenAI({ apiKey: KEY, baseURL: `http://127.0.0.1:${p1}/v1`, maxRetries: 0 });
    const stream = await oldClient.chat.completions.create({
      model: 'skill/slow',
      messages: [{ role: 'user', content: '{"tag":"old"}' }],
      stream: true,
    });

    writeFiles(repo, { 'proxy.yaml': proxyYaml('edge', `port: ${p2}\nkeys:\n  - valueFrom: {env: PROXY_APP_KEY}`) });
    const head = commitAll(repo, 'move the proxy to another port');
    await app.waitForRevision(head, 10_000);
    expect(app.core.status('Proxy/edge')?.observed.address).toBe(`http://127.0.0.1:${p2}`);

    const newClient = new OpenAI({ apiKey: KEY, baseURL: `http://127.0.0.1:${p2}/v1`, maxRetries: 0 });
    const fresh = await newClient.chat.completions.create({
      model: 'skill/slow',
      messages: [{ role: 'user', content: '{"tag":"new"}' }],
    });
    expect(fresh.choices[0]?.message.content).toBe('finished new');
    expect(await refused(p1)).toBe(true);

    let content = '';
    for await (const c of stream) content += c.choices[0]?.delta.content ?? '';
    expect(content).toBe('finished old');

    // The same process serves the proxy's metrics on /metrics.
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/caduceus_proxy_requests_total\{proxy="edge",model="skill\/slow",status="200"\} 2/);
    expect(app.core.events({ limit: 100 }).map((e) => e.reason)).toEqual(
      expect.arrayContaining(['ListenerStarted', 'ListenerMoved']),
    );

    // `caduceus proxy test` finds the address in the state directory and reports the answer.
    process.env.CADUCEUS_PROXY_KEY = KEY;
    const models = await runCli(['test', '--state-dir', stateDir]);
    expect(models.code).toBe(0);
    expect(models.out).toContain('status:     200');
    expect(models.out).toMatch(/request id: req_[0-9a-f]{32}/);
    expect(models.out).toContain('skill/slow');
    expect(models.out).not.toContain(KEY);
    const chat = await runCli([
      'test',
      '--state-dir',
      stateDir,
      '--endpoint',
      '/v1/chat/completions',
      '--message',
      '{"tag":"cli"}',
      '--json',
    ]);
    expect(chat.code).toBe(0);
    expect(JSON.parse(chat.out)).toMatchObject({ status: 200, model: 'skill/slow', answer: 'finished cli' });
    const streamed = await runCli([
      'test',
      '--state-dir',
      stateDir,
      '--endpoint',
      '/v1/chat/completions',
      '--model',
      'skill/slow',
      '--message',
      '{"tag":"sse"}',
      '--stream',
    ]);
    expect(streamed.code).toBe(0);
    expect(streamed.out).toMatch(/first byte [\d.]+ ms/);
    expect(streamed.out).toContain('  finished sse');

    process.env.PROXY_CLI_WRONG = 'sk-not-a-key';
    const denied = await runCli(['test', '--url', `http://127.0.0.1:${p2}`, '--key-env', 'PROXY_CLI_WRONG']);
    expect(denied.code).toBe(1);
    expect(denied.out).toContain('status:     401');
    expect(denied.out).toContain('invalid_api_key');
  });

  it('reports a Proxy whose key is unset as Ready=False SecretUnset in status, and proxy test says why', async () => {
    delete process.env.PROXY_APP_MISSING;
    const port = await freePort();
    const repo = makeRepo({
      'proxy.yaml': proxyYaml('edge', `port: ${port}\nkeys:\n  - valueFrom: {env: PROXY_APP_MISSING}`),
    });
    const stateDir = tempDir();
    const app = await startApp({
      repo,
      stateDir,
      listen: '127.0.0.1:0',
      registrations: [executionRegister, proxyRegister],
    });
    apps.push(app);
    await app.waitForRevision(app.reconciler.snapshot().revision, 10_000);
    const ready = app.core.status('Proxy/edge')?.conditions.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'SecretUnset' });
    expect(ready?.message).toContain('PROXY_APP_MISSING');
    expect(await refused(port)).toBe(true);

    process.env.CADUCEUS_PROXY_KEY = KEY;
    let err = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      err += String(chunk);
      return true;
    });
    const code = await proxyCommand(['test', '--state-dir', stateDir]).finally(() => spy.mockRestore());
    expect(code).toBe(2);
    expect(err).toContain('SecretUnset');
  });
});
