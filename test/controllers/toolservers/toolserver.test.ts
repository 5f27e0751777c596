// MCP servers as agent tools: a ToolServer whose command is an MCP server written with the
// SDK (ticket-server.mjs) is connected by a running Caduceus, its tools offered to the
// agent as `tickets__<tool>` under the allow-list, and called by the scripted model; a
// server that fails to start is Ready=False with the reason while the agent runs without it.
// The same desk over Streamable HTTP takes its bearer header from a secret reference.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { describe, expect, it } from 'vitest';
import { register as executionRegister } from '../../../controllers/execution/index.js';
import { register as agentRegister } from '../../../controllers/agent/index.js';
import { register as toolServersRegister } from '../../../controllers/toolservers/index.js';
import { loadDirectory } from '../../../reconciler/loader.js';
import { appStarter } from '../../helpers/app.js';
import { doc } from '../../helpers/config.js';
import { makeRepo, writeFiles } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';
import { inOrder, startScriptedModel, toolResults, MODEL_KEY, type ModelRequest } from '../agent/scripted-model.js';
import { runtimeWithLlm, KEY_ENV } from '../agent/harness.js';

// @ts-expect-error: a plain ESM module of the test tree (node runs it as the stdio server too), without types
import { ticketDesk } from './ticket-desk.mjs';

const SERVER = join(import.meta.dirname, 'ticket-server.mjs');
const start = appStarter({ registrations: [executionRegister, toolServersRegister, agentRegister] });

describe('ToolServer: MCP servers as agent tools', () => {
  it('offers a connected server under its prefix and allow-list, and leaves out one that failed', async () => {
    const model = await startScriptedModel(
      inOrder([
        {
          toolCalls: [
            { name: 'tickets__open_ticket', arguments: { title: 'disk full on vpn-gw' } },
            { name: 'tickets__close_all', arguments: {} },
          ],
        },
        { content: 'opened ticket #1' },
      ]),
    );
    process.env[KEY_ENV] = MODEL_KEY;
    try {
      const repo = makeRepo({
        'runtime.yaml': runtimeWithLlm(model.url),
        'tickets.yaml': doc('ToolServer', 'tickets', { command: [process.execPath, SERVER] }),
        'broken.yaml': doc('ToolServer', 'broken', { command: ['/nonexistent/mcp-server'], timeout: '5s' }),
      });
      const app = await start({ repo, stateDir: tempDir() });
      await app.waitForRevision(app.reconciler.snapshot().revision, 30_000);

      expect(app.core.status('ToolServer/tickets')?.conditions.find((c) => c.type === 'Ready')).toMatchObject({
        status: 'True',
        reason: 'ToolServerConnected',
        message: '2 tool(s): open_ticket, close_all',
      });
      const broken = app.core.status('ToolServer/broken')?.conditions.find((c) => c.type === 'Ready');
      expect(broken).toMatchObject({ status: 'False', reason: 'ToolServerFailed' });
      expect(broken?.message).toMatch(/^\/nonexistent\/mcp-server: .*the agent runs without this server's tools$/);

      const runAgent = app.deps.runner.runAgent;
      if (!runAgent) throw new Error('no runAgent');
      const r = await runAgent({
        prompt: 'open a ticket for the disk',
        tools: ['tickets__*', 'broken__*', 'read_file'],
        trigger: { source: 'test' },
      });
      expect(r.status).toBe('succeeded');
      expect(r.answer).toBe('opened ticket #1');
      const offered = model.requests[0]?.body.tools?.map((t) => t.function.name);
      expect(offered).toEqual(['read_file', 'tickets__open_ticket', 'tickets__close_all']);
      expect(model.requests[0]?.body.tools?.[1]?.function.parameters).toEqual({
        type: 'object',
        properties: { title: { type: 'string' } },
        required: ['title'],
        additionalProperties: false,
      });
      expect(toolResults(model.requests[1] as ModelRequest).map((m) => m.content)).toEqual([
        'ticket #1: disk full on vpn-gw',
        'error: closing is not allowed here',
      ]);
      expect(r.toolCalls.map((c) => [c.tool, c.status])).toEqual([
        ['tickets__open_ticket', 'succeeded'],
        ['tickets__close_all', 'failed'],
      ]);

      // Not in the allow-list: not offered.
      const narrow = await runAgent({ prompt: 'x', tools: ['tickets__open_ticket'], trigger: { source: 'test' } });
      expect(narrow.status).toBe('succeeded');
      expect(model.requests[2]?.body.tools?.map((t) => t.function.name)).toEqual(['tickets__open_ticket']);
    } finally {
      delete process.env[KEY_ENV];
      await model.close();
    }
  });

  it('connects to a Streamable HTTP server with its header secret; unset or wrong, it is Ready=False', async () => {
    // The desk behind a bearer token, stateless: one SDK server and transport per request.
    const tickets: string[] = [];
    const seen: Array<string | undefined> = [];
    const http = createServer(async (req, res) => {
      seen.push(req.headers.authorization);
      if (req.headers.authorization !== 'Bearer desk-s3cret') {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
        return;
      }
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => void transport.close());
      await ticketDesk(tickets).connect(transport);
      await transport.handleRequest(req, res);
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
    const model = await startScriptedModel(
      inOrder([
        { toolCalls: [{ name: 'desk__open_ticket', arguments: { title: 'renew the TLS certificate' } }] },
        { content: 'opened' },
      ]),
    );
    process.env[KEY_ENV] = MODEL_KEY;
    process.env.CADUCEUS_TS_TEST_DESK_AUTH = 'Bearer desk-s3cret';
    process.env.CADUCEUS_TS_TEST_WRONG_AUTH = 'Bearer guessed';
    try {
      const header = (env: string) => ({ Authorization: { valueFrom: { env } } });
      const repo = makeRepo({
        'runtime.yaml': runtimeWithLlm(model.url),
        'desk.yaml': doc('ToolServer', 'desk', { url, headers: header('CADUCEUS_TS_TEST_DESK_AUTH') }),
        'nokey.yaml': doc('ToolServer', 'nokey', { url, headers: header('CADUCEUS_TS_TEST_UNSET_AUTH') }),
        'wrong.yaml': doc('ToolServer', 'wrong', { url, headers: header('CADUCEUS_TS_TEST_WRONG_AUTH') }),
      });
      const app = await start({ repo, stateDir: tempDir() });
      await app.waitForRevision(app.reconciler.snapshot().revision, 30_000);
      const ready = (name: string) => app.core.status(`ToolServer/${name}`)?.conditions.find((c) => c.type === 'Ready');
      expect(ready('desk')).toMatchObject({ status: 'True', message: '2 tool(s): open_ticket, close_all' });
      expect(ready('nokey')).toMatchObject({ status: 'False', reason: 'SecretUnset' });
      expect(ready('nokey')?.message).toContain('CADUCEUS_TS_TEST_UNSET_AUTH');
      expect(ready('wrong')).toMatchObject({ status: 'False', reason: 'ToolServerFailed' });
      expect(ready('wrong')?.message).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp: HTTP 401: .*"unauthorized"/);
      // The unset secret sent nothing; the others sent exactly their values.
      expect(new Set(seen)).toEqual(new Set(['Bearer desk-s3cret', 'Bearer guessed']));

      const runAgent = app.deps.runner.runAgent;
      if (!runAgent) throw new Error('no runAgent');
      const r = await runAgent({ prompt: 'renew it', tools: ['desk__*'], trigger: { source: 'test' } });
      expect(r.answer).toBe('opened');
      expect(toolResults(model.requests[1] as ModelRequest).map((m) => m.content)).toEqual([
        'ticket #1: renew the TLS certificate',
      ]);
      expect(tickets).toEqual(['renew the TLS certificate']);
    } finally {
      for (const k of [KEY_ENV, 'CADUCEUS_TS_TEST_DESK_AUTH', 'CADUCEUS_TS_TEST_WRONG_AUTH']) delete process.env[k];
      await model.close();
      // The app (stopped after the test) keeps its connections open; they go with the server.
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
  });

  it('rejects an allow-list naming a ToolServer that does not exist, at its line', async () => {
    const dir = tempDir('caduceus-toolserver-');
    writeFiles(dir, {
      'tickets.yaml': doc('ToolServer', 'tickets', { url: 'http://127.0.0.1:1/mcp' }),
      'skills/s.yaml': doc('Skill', 's', {
        version: '1',
        description: 'd',
        steps: [{ run: 'true' }],
        agent: { tools: ['tickets__open_ticket', 'desk__*'] },
      }),
      'bad.yaml': doc('ToolServer', 'bad', { url: 'http://x', command: ['y'] }),
    });
    const { findings } = await loadDirectory(dir);
    expect(findings.map((f) => `${f.file} ${f.rule} ${f.message}`)).toEqual([
      'bad.yaml schema spec: sets command and url; keep exactly one of command, url',
      'skills/s.yaml unknown-agent-tool agent.tools: "desk__*" names no ToolServer "desk"',
    ]);
  });
});
