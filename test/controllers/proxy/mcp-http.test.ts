// The skills as MCP tools at /mcp on a Proxy listener, reached with the SDK's own client
// over Streamable HTTP: a running Caduceus follows a real git repository, so a commit that
// adds a skill reaches a connected client as notifications/tools/list_changed.

import { describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { register as executionRegister } from '../../../controllers/execution/index.js';
import { register as proxyRegister } from '../../../controllers/proxy/index.js';
import { register as tasksRegister } from '../../../controllers/tasks/index.js';
import { RunStore } from '../../../reconciler/state/runs.js';
import type { App } from '../../../app/app.js';
import { appStarter } from '../../helpers/app.js';
import { commitAll, makeRepo, writeFiles } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';
import { waitFor } from '../../helpers/wait.js';
import { proxyYaml, skillYaml } from './harness.js';

const KEY = 'sk-mcp-test-key-0001';
process.env.MCP_TEST_KEY = KEY;
const start = appStarter({ registrations: [executionRegister, tasksRegister, proxyRegister] });

const GREET = skillYaml(
  'greet',
  'printf "hello %s x%s" "$PARAM_WHO" "$PARAM_TIMES"',
  [
    '  params:',
    '    - name: who',
    '      type: string',
    '      required: true',
    '      description: whom to greet',
    '    - name: times',
    '      type: number',
    '      default: 1',
    '',
  ].join('\n'),
);
const BROKEN = skillYaml('broken', 'echo "disk is full" >&2; exit 3');
const TASK = `apiVersion: caduceus.dev/v1
kind: Task
metadata:
  name: nightly
spec:
  description: The nightly greeting
  subtasks:
    - name: hello
      skill: greet
      params: {who: night}
`;

async function proxyApp(
  mcp = '',
  files: Record<string, string> = {},
): Promise<{ app: App; repo: string; url: string }> {
  const repo = makeRepo({
    'skills/greet.yaml': GREET,
    'skills/broken.yaml': BROKEN,
    'tasks/nightly.yaml': TASK,
    'proxy.yaml': proxyYaml('edge', `port: 0\nkeys:\n  - valueFrom: {env: MCP_TEST_KEY}\n${mcp}`),
    ...files,
  });
  const app = await start({ repo, stateDir: tempDir() });
  await app.waitForRevision(app.reconciler.snapshot().revision, 15_000);
  const address = await waitFor(() => app.core.status('Proxy/edge')?.observed.address as string | undefined);
  return { app, repo, url: `${address}/mcp` };
}

async function connect(url: string, key: string | null = KEY, fetch?: FetchLike): Promise<Client> {
  const client = new Client({ name: 'caduceus-test', version: '1.0.0' });
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers }, fetch }));
  return client;
}

const text = (r: unknown): string => ((r as CallToolResult).content[0] as { text: string }).text;

describe('MCP over Streamable HTTP at /mcp', () => {
  it('lists every skill with its typed params as the input schema', async () => {
    const { url } = await proxyApp();
    const client = await connect(url);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['broken', 'greet']);
      const greet = tools.find((t) => t.name === 'greet');
      expect(greet?.description).toBe('Skill greet (skill greet@1.0.0)');
      expect(greet?.inputSchema).toEqual({
        type: 'object',
        properties: { who: { type: 'string', description: 'whom to greet' }, times: { type: 'number', default: 1 } },
        required: ['who'],
        additionalProperties: false,
      });
      expect(client.getServerCapabilities()?.tools).toEqual({ listChanged: true });
    } finally {
      await client.close();
    }
  });

  it('runs a skill as trigger mcp with the key id as actor; bad params and failures come back as isError', async () => {
    const { app, url } = await proxyApp();
    const client = await connect(url);
    try {
      const ok = await client.callTool({ name: 'greet', arguments: { who: 'ada', times: 2 } });
      expect(ok.isError).toBeFalsy();
      expect(text(ok)).toBe('hello ada x2');

      const missing = await client.callTool({ name: 'greet', arguments: { times: 2 } });
      expect(missing.isError).toBe(true);
      expect(text(missing)).toContain('needs param "who"');
      const mistyped = await client.callTool({ name: 'greet', arguments: { who: 'ada', times: 'many' } });
      expect(mistyped.isError).toBe(true);
      expect(text(mistyped)).toContain('param "times" must be a number');

      const failed = await client.callTool({ name: 'broken', arguments: {} });
      expect(failed.isError).toBe(true);
      expect(text(failed)).toMatch(/^skill broken failed \(run [0-9a-f-]+\)/);
      expect(text(failed)).toContain('disk is full');

      await expect(client.callTool({ name: 'nope', arguments: {} })).rejects.toThrow(/unknown tool "nope"/);

      // The task of the repository ran once on apply; its skill run has the task run as parent.
      const runs = new RunStore(app.store).list({ kind: 'skill' }).filter((r) => r.parentId === null);
      expect(runs.map((r) => [r.name, r.status, r.trigger, r.actor]).sort()).toEqual([
        ['broken', 'failed', 'mcp', 'key0:env:MCP_TEST_KEY'],
        ['greet', 'succeeded', 'mcp', 'key0:env:MCP_TEST_KEY'],
      ]);
    } finally {
      await client.close();
    }
  });

  it('tells a connected client when a commit changes the tool list', async () => {
    const { app, repo, url } = await proxyApp();
    const client = await connect(url);
    try {
      let changes = 0;
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        changes++;
      });
      // The notification travels on the session's GET stream; make sure it is open first.
      await client.listTools();
      writeFiles(repo, { 'skills/farewell.yaml': skillYaml('farewell', 'echo bye') });
      const head = commitAll(repo, 'add the farewell skill');
      await app.waitForRevision(head, 15_000);
      await waitFor(() => changes > 0, 15_000, 'tools/list_changed');
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['broken', 'farewell', 'greet']);
      const after = await client.callTool({ name: 'farewell', arguments: {} });
      expect(text(after)).toBe('bye\n');
    } finally {
      await client.close();
    }
  });

  it('refuses a client without the bearer key or with a wrong one', async () => {
    const { url } = await proxyApp();
    await expect(connect(url, null)).rejects.toThrow(/401|API key/);
    await expect(connect(url, 'sk-not-a-key')).rejects.toThrow(/401|Incorrect API key/);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
  });

  it('holds /mcp to the body limit and the per-key rate limit of the OpenAI routes', async () => {
    const { url } = await proxyApp('limits:\n  requestsPerMinute: 3\n  maxBodyBytes: 1024\n');
    const post = (body: string) =>
      fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${KEY}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body,
      });
    const init = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'limits', version: '1' } },
    });
    const big = await post(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(2000) } }),
    );
    expect(big.status).toBe(413);
    expect((await post(init)).status).toBe(200);
    expect((await post(init)).status).toBe(200);
    const limited = await post(init);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-limit-requests')).toBe('3');
    expect(limited.headers.get('x-ratelimit-remaining-requests')).toBe('0');
  });

  it('offers tasks as tools only when spec.mcp.tasks says so', async () => {
    const { url } = await proxyApp('mcp:\n  tasks: true');
    const client = await connect(url);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['broken', 'greet', 'task_nightly']);
      const r = await client.callTool({ name: 'task_nightly', arguments: {} });
      expect(r.isError).toBeFalsy();
      expect(text(r)).toMatch(
        /^task nightly succeeded in .* \(run [0-9a-f-]+\)\n\n## hello: succeeded \(1 attempt\(s\)\)\nhello night x1$/,
      );
    } finally {
      await client.close();
    }
    const plain = await proxyApp();
    const other = await connect(plain.url);
    try {
      expect((await other.listTools()).tools.map((t) => t.name)).not.toContain('task_nightly');
      await expect(other.callTool({ name: 'task_nightly', arguments: {} })).rejects.toThrow(/unknown tool/);
    } finally {
      await other.close();
    }
  });

  it('serves /mcp over the Proxy TLS, to a client that trusts its certificate only', async () => {
    const dir = tempDir();
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
        .concat(['-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'), '-days', '1', '-subj', '/CN=mcp'])
        .concat(['-addext', 'subjectAltName=IP:127.0.0.1']),
      { stdio: 'ignore' },
    );
    const pem = (f: string) => readFileSync(join(dir, f), 'utf8');
    const { url } = await proxyApp('tls:\n  cert: tls.crt\n  key: tls.key\n', {
      'tls.crt': pem('tls.crt'),
      'tls.key': pem('tls.key'),
    });
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const agent = new Agent({ connect: { ca: pem('tls.crt') } });
    // The SDK's transport takes a fetch; undici's, with an agent trusting the test CA.
    const trusting = ((input: string | URL, init?: RequestInit) =>
      undiciFetch(input, { ...(init as object), dispatcher: agent })) as unknown as FetchLike;
    const client = await connect(url, KEY, trusting);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['broken', 'greet']);
      const r = await client.callTool({ name: 'greet', arguments: { who: 'tls' } });
      expect(text(r)).toBe('hello tls x1');
    } finally {
      await client.close();
      await agent.close();
    }
    // Plain HTTP on the same port is not served, and a client without the CA is refused.
    // The TLS listener drops a plain request: the client's fetch fails (the socket closed).
    await expect(connect(url.replace('https:', 'http:'))).rejects.toThrow(/fetch failed|other side closed/);
    await expect(connect(url)).rejects.toThrow(/certificate|fetch failed/);
  });
});
