// `caduceus mcp` as an editor starts it: the compiled CLI spawned by the SDK's stdio
// client on a real git repository. It lists and runs the skills, records the runs with
// trigger mcp, and tells the client when a commit changes the tools.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { StateStore } from '../../../reconciler/state/store.js';
import { RunStore } from '../../../reconciler/state/runs.js';
import { commitAll, makeRepo, writeFiles } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';
import { waitFor } from '../../helpers/wait.js';
import { skillYaml } from './harness.js';

const CLI = join(import.meta.dirname, '..', '..', '..', 'dist', 'app', 'cli.js');
const text = (r: unknown): string => ((r as CallToolResult).content[0] as { text: string }).text;

describe('caduceus mcp over stdio', () => {
  it('serves the skills of the committed configuration and follows new commits', async () => {
    const repo = makeRepo({
      'config/skills/greet.yaml': skillYaml(
        'greet',
        'printf "hello %s" "$PARAM_WHO"',
        '  params:\n    - name: who\n      type: string\n      required: true\n',
      ),
      'config/skills/broken.yaml': skillYaml('broken', 'exit 4'),
    });
    const stateDir = tempDir();
    const client = new Client({ name: 'editor', version: '1.0.0' });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'mcp', 'config', '--state-dir', stateDir],
      cwd: repo,
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await client.connect(transport);
    try {
      let changes = 0;
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        changes++;
      });
      const { tools } = await client.listTools();
      expect(tools.map((t) => [t.name, t.inputSchema.required])).toEqual([
        ['broken', []],
        ['greet', ['who']],
      ]);
      expect(text(await client.callTool({ name: 'greet', arguments: { who: 'editor' } }))).toBe('hello editor');
      const bad = await client.callTool({ name: 'greet', arguments: { whom: 'x' } });
      expect(bad.isError).toBe(true);
      expect(text(bad)).toContain('skill greet has no param "whom"');
      const failed = await client.callTool({ name: 'broken', arguments: {} });
      expect(failed.isError).toBe(true);
      expect(text(failed)).toMatch(/^skill broken failed \(run [0-9a-f-]+\)/);

      // An uncommitted file is not served; the commit is.
      writeFiles(repo, { 'config/skills/wave.yaml': skillYaml('wave', 'echo wave') });
      commitAll(repo, 'add wave');
      await waitFor(() => changes > 0, 15_000, `tools/list_changed (stderr: ${stderr})`);
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['broken', 'greet', 'wave']);
    } finally {
      await client.close();
    }
    const store = new StateStore({ stateDir });
    try {
      const runs = new RunStore(store).list({ kind: 'skill' });
      expect(runs.map((r) => [r.name, r.status, r.trigger, r.actor?.startsWith('user:')]).sort()).toEqual([
        ['broken', 'failed', 'mcp', true],
        ['greet', 'succeeded', 'mcp', true],
      ]);
    } finally {
      store.close();
    }
  });
});
