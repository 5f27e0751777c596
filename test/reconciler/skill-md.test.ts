// Agent Skills folders (`skills/NAME/SKILL.md`) loaded as Skills: front matter checked
// against its schema with positions in the SKILL.md, the name tied to the folder, the
// body as instructions, the folder's scripts and references listed, its YAML never read
// as configuration; a YAML skill may carry instructions instead of steps.

import { describe, expect, it } from 'vitest';
import { loadDirectory } from '../../reconciler/loader.js';
import { getResource, keyOf } from '../../reconciler/types.js';
import { writeFiles } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';

const SKILL_MD = `---
name: pdf-report
description: Turns the week's incidents into a PDF report. Use when asked for a report.
license: Apache-2.0
metadata:
  version: "2.1.0"
  author: ops
---
# PDF report

1. Run scripts/collect.sh to gather the incidents.
2. Read references/format.md for the layout.
`;

async function load(files: Record<string, string>) {
  const dir = tempDir('caduceus-skill-md-');
  writeFiles(dir, files);
  return loadDirectory(dir);
}

describe('SKILL.md skills', () => {
  it('loads a folder as a Skill with its instructions, version and files', async () => {
    const { resources, findings } = await load({
      'skills/pdf-report/SKILL.md': SKILL_MD,
      'skills/pdf-report/scripts/collect.sh': 'echo collected\n',
      'skills/pdf-report/references/format.md': '# Format\n',
      'skills/pdf-report/references/example.yaml': 'not: [a, resource\n',
    });
    expect(findings).toEqual([]);
    expect(resources.map(keyOf)).toEqual(['Skill/pdf-report']);
    const skill = resources[0];
    expect(skill?.source).toEqual({ file: 'skills/pdf-report/SKILL.md', line: 1, column: 1 });
    expect(skill?.spec).toMatchObject({
      version: '2.1.0',
      description: "Turns the week's incidents into a PDF report. Use when asked for a report.",
      params: [],
      steps: [],
      instructions:
        '# PDF report\n\n1. Run scripts/collect.sh to gather the incidents.\n' +
        '2. Read references/format.md for the layout.',
      agentSkill: {
        folder: 'skills/pdf-report',
        files: ['references/example.yaml', 'references/format.md', 'scripts/collect.sh'],
        license: 'Apache-2.0',
        metadata: { version: '2.1.0', author: 'ops' },
      },
    });
  });

  it('reports front-matter errors at their line and column in the SKILL.md', async () => {
    const { resources, findings } = await load({
      'skills/bad/SKILL.md': '---\nname: bad\ndescription: ok\ncolour: blue\nlicense: 3\n---\nbody\n',
      'skills/Upper/SKILL.md': '---\nname: Upper\ndescription: x\n---\nbody\n',
      'skills/other/SKILL.md': '---\nname: not-other\ndescription: x\n---\nbody\n',
      'skills/nofm/SKILL.md': '# no front matter\n',
      'skills/empty/SKILL.md': '---\nname: empty\ndescription: nothing to do\n---\n\n',
      'skills/broken/SKILL.md': '---\nname: broken\ndescription: [unclosed\n---\nbody\n',
    });
    expect(resources).toEqual([]);
    expect(findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.rule} ${f.message}`)).toEqual([
      'skills/Upper/SKILL.md:2:7 schema name: must match the pattern ^[a-z0-9]+(-[a-z0-9]+)*$',
      'skills/bad/SKILL.md:4:1 schema unknown property "colour" (allowed: name, description, license, ' +
        'compatibility, metadata, allowed-tools)',
      'skills/bad/SKILL.md:5:10 schema license: must be a string',
      expect.stringMatching(/^skills\/broken\/SKILL\.md:3:\d+ yaml-syntax /),
      'skills/empty/SKILL.md:5:1 skill-md the SKILL.md has no instructions after its front matter',
      'skills/nofm/SKILL.md:1:1 skill-md a SKILL.md starts with YAML front matter between two "---" lines',
      'skills/other/SKILL.md:2:7 skill-md name "not-other" must be the folder\'s name "other"',
    ]);
  });

  it('refuses a SKILL.md over 1 MiB and warns about instructions over the 500 lines the format advises', async () => {
    const fm = (name: string): string => `---\nname: ${name}\ndescription: d\n---\n`;
    const { resources, findings } = await load({
      'skills/huge/SKILL.md': `${fm('huge')}${'x'.repeat(1024 * 1024)}\n`,
      'skills/long/SKILL.md': `${fm('long')}${'step\n'.repeat(501)}`,
      'skills/fine/SKILL.md': `${fm('fine')}${'step\n'.repeat(499)}`,
    });
    expect(resources.map((r) => r.metadata.name).sort()).toEqual(['fine', 'long']);
    expect(findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.severity} ${f.rule} ${f.message}`)).toEqual([
      'skills/huge/SKILL.md:1:1 error file-too-large file is 1048611 bytes, over the 1 MiB limit; move material to ' +
        'references/',
      'skills/long/SKILL.md:5:1 warning skill-md-size the instructions are 501 lines, over the 500 the Agent Skills ' +
        'format advises (the agent reads them whole); move details to references/',
    ]);
  });

  it('takes instructions on a YAML skill beside or instead of steps, and refuses a skill with neither', async () => {
    const yaml = (name: string, body: string): string =>
      `apiVersion: caduceus.dev/v1\nkind: Skill\nmetadata:\n  name: ${name}\nspec:\n  version: "1"\n` +
      `  description: d\n${body}`;
    const { resources, findings } = await load({
      'skills/guide.yaml': yaml('guide', '  instructions: Read the runbook first.\n'),
      'skills/both.yaml': yaml('both', '  instructions: Then check.\n  steps:\n    - run: echo hi\n'),
      'skills/none.yaml': yaml('none', ''),
    });
    expect(findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.message}`)).toEqual([
      'skills/none.yaml:6:3 spec: a skill needs steps, instructions (for the agent), or both',
    ]);
    const snap = { revision: 'r', resources: new Map(resources.map((r) => [keyOf(r), r])) };
    expect(getResource(snap, 'Skill', 'guide')?.spec).toMatchObject({
      instructions: 'Read the runbook first.',
      steps: [],
    });
    expect(getResource(snap, 'Skill', 'both')?.spec.steps).toHaveLength(1);
  });
});
