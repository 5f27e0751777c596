// A SKILL.md skill in an agent run (scripted model): choosing the skill hands the model its
// instructions and the folder's files, and the model runs the skill's script with the
// shell tool in the run's sandbox, reading it from CADUCEUS_CONFIG_DIR: a local process, or
// a container of the sandbox image when the Runtime isolates.

import { chmodSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dockerReady, runDockerTests, SANDBOX } from '../execution/docker-env.js';
import { agentHarness } from './harness.js';
import { inOrder, toolResults, type ModelRequest } from './scripted-model.js';

const start = agentHarness();
const ready = await dockerReady();

const SKILL_MD = `---
name: weekly-report
description: Writes the weekly incident report. Use when asked for the week's report.
---
Run scripts/count.sh and report the number it prints as "N incidents this week".
`;

describe('SKILL.md skills in the agent', () => {
  it('gives the instructions when the model picks the skill, and the script runs through the shell tool', async () => {
    const h = await start(
      inOrder([
        { toolCalls: [{ name: 'weekly-report', arguments: {} }] },
        {
          toolCalls: [
            {
              name: 'shell',
              arguments: { command: 'sh "$CADUCEUS_CONFIG_DIR/skills/weekly-report/scripts/count.sh"' },
            },
          ],
        },
        { content: '4 incidents this week' },
      ]),
      {
        files: {
          'skills/weekly-report/SKILL.md': SKILL_MD,
          'skills/weekly-report/scripts/count.sh': 'echo "$((2 + 2))"\n',
        },
      },
    );
    const r = await h.ask({ prompt: 'the weekly report, please', tools: ['weekly-report', 'shell'] });
    expect(r.status).toBe('succeeded');
    expect(r.answer).toBe('4 incidents this week');
    const offered = h.model.requests[0]?.body.tools?.map((t) => t.function.name);
    expect(offered).toEqual(['shell', 'weekly-report']);
    const [instructions, script] = toolResults(h.model.requests[2] as ModelRequest).map((m) => m.content);
    expect(instructions).toBe(
      [
        'Instructions of the skill weekly-report; follow them with your tools:',
        '',
        'Run scripts/count.sh and report the number it prints as "N incidents this week".',
        '',
        'Files of the skill, under "$CADUCEUS_CONFIG_DIR/skills/weekly-report/" (read them with cat, run scripts ' +
          'with the shell tool, e.g. sh "$CADUCEUS_CONFIG_DIR/skills/weekly-report/scripts/count.sh"):',
        '- scripts/count.sh',
      ].join('\n'),
    );
    expect(script).toBe('exit code 0\n4\n');
    expect(r.toolCalls.map((c) => [c.tool, c.status])).toEqual([
      ['weekly-report', 'succeeded'],
      ['shell', 'succeeded'],
    ]);
  });

  describe.runIf(runDockerTests(ready))('in the Docker sandbox', () => {
    it('runs the skill script with the shell tool inside the container, from /config', async () => {
      const h = await start(
        inOrder([
          { toolCalls: [{ name: 'weekly-report', arguments: {} }] },
          {
            toolCalls: [
              {
                name: 'shell',
                arguments: { command: 'sh "$CADUCEUS_CONFIG_DIR/skills/weekly-report/scripts/count.sh"' },
              },
            ],
          },
          { content: '4 incidents this week' },
        ]),
        {
          runtime: { execution: { mode: 'docker' }, isolation: { image: SANDBOX, network: 'none' } },
          files: {
            'skills/weekly-report/SKILL.md': SKILL_MD,
            'skills/weekly-report/scripts/count.sh': 'echo "$((2 + 2)) as uid $(id -u) in $CADUCEUS_CONFIG_DIR"\n',
          },
        },
      );
      chmodSync(h.configDir, 0o755); // like a git checkout; mkdtemp makes it private, and the sandbox runs as 65534
      const r = await h.ask({ prompt: 'the weekly report, please', tools: ['weekly-report', 'shell'] });
      expect(r.status).toBe('succeeded');
      const [instructions, script] = toolResults(h.model.requests[2] as ModelRequest).map((m) => m.content);
      expect(instructions).toContain('- scripts/count.sh');
      expect(script).toBe('exit code 0\n4 as uid 65534 in /config\n');
    });
  });
});
