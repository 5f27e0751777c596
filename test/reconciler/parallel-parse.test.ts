// Parsing on worker threads (the compiled loader in dist/, where the worker script exists):
// a revision parsed with workers gives exactly the resources and findings, with positions,
// of one parsed on a single thread, including files the fast reader leaves to `yaml`,
// files with errors, and values JSON cannot carry (which the main thread parses itself);
// and a worker that fails leaves its files to the main thread.

import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Loader as LoaderClass } from '../../reconciler/loader.js';
import type { SourceFile } from '../../reconciler/source-file.js';
import { skillYaml } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { Loader } = (await import(pathToFileURL(`${root}dist/reconciler/loader.js`).href)) as {
  Loader: typeof LoaderClass;
};

function sources(files: Record<string, string>): SourceFile[] {
  return Object.entries(files).map(([path, text]) => {
    const bytes = Buffer.from(text);
    return { path, id: createHash('sha1').update(bytes).digest('hex'), read: async () => bytes };
  });
}

function revision(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) {
    const steps =
      i % 5 === 4
        ? `    - skill:\n        name: s-${i - 1}\n        params: {window: 2h}\n`
        : '    - run: echo "$PARAM_WINDOW"\n';
    files[`skills/s-${String(i).padStart(2, '0')}.yaml`] = skillYaml(`s-${i}`, 'echo', {
      description: `Skill ${i}`,
      extra: '  params:\n    - name: window\n      type: duration\n      default: 72h\n',
      steps,
    });
  }
  // Left to `yaml` by the fast reader (an anchor), with a position-sensitive error after it.
  files['skills/anchored.yaml'] = skillYaml('anchored', 'echo', { description: 'x' }).replace(
    'description: x',
    'description: &d x\n  bogus: *d',
  );
  // YAML syntax error, unknown skill, duplicate name, a number JSON would turn into null.
  files['skills/broken.yaml'] = 'apiVersion: caduceus.dev/v1\nkind: Skill\nmetadata:\n  name: [unclosed\n';
  files['tasks/t.yaml'] =
    'apiVersion: caduceus.dev/v1\nkind: Task\nmetadata:\n  name: t\nspec:\n  subtasks:\n' +
    '    - name: a\n      skill: nope\n';
  files['skills/dup.yaml'] = skillYaml('s-10', 'echo', { description: 'again' });
  files['skills/huge.yaml'] = skillYaml('huge', 'echo', {
    description: 'y',
    extra: '  params:\n    - name: n\n      type: number\n',
  });
  // Last in file order, so in a worker's share: a call passing a number JSON would make
  // null. The schema refuses it, but the call still takes part in the checks across files
  // (param-type: not a finite number); the file is parsed on the main thread (lastOnWorkers).
  files['tasks/zz-huge.yaml'] =
    'apiVersion: caduceus.dev/v1\nkind: Task\nmetadata:\n  name: zz\nspec:\n  subtasks:\n' +
    '    - name: a\n      skill: huge\n      params: {n: 1e999}\n';
  return files;
}

describe('parsing on worker threads', () => {
  it('gives the same resources and findings, at the same positions, as one thread', async () => {
    const one = new Loader({ minFiles: Number.POSITIVE_INFINITY });
    // Only workers parse here, in small chunks, so that every file goes through one.
    const many = new Loader({ minFiles: 2, workers: 2, chunk: 4, mainThread: false });
    const a = await one.load(sources(revision()));
    const b = await many.load(sources(revision()));
    expect(one.lastOnWorkers).toBe(0);
    // Every file but the one whose value JSON cannot carry, which the main thread parsed.
    expect(many.lastParsed).toBe(46);
    expect(many.lastOnWorkers).toBe(45);
    expect(b.findings).toEqual(a.findings);
    expect(b.resources).toEqual(a.resources);
    expect(a.findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.rule}`)).toEqual([
      'skills/anchored.yaml:8:3 schema',
      'skills/broken.yaml:5:1 yaml-syntax',
      'skills/s-10.yaml:4:9 duplicate-resource',
      'tasks/t.yaml:8:14 unknown-skill',
      'tasks/zz-huge.yaml:9:16 param-type',
      'tasks/zz-huge.yaml:9:19 schema',
    ]);
    expect(a.resources).toHaveLength(42);
    // Keeping no resources (caduceus validate): workers' results lose their content on arrival.
    const checking = new Loader({ minFiles: 2, workers: 2, chunk: 4, mainThread: false }, { keepResources: false });
    const c = await checking.load(sources(revision()));
    expect(checking.lastOnWorkers).toBe(45);
    expect(c.findings).toEqual(a.findings);
    expect(c.resources).toEqual([]);
    expect(c.accepted).toBe(42);
    expect(c.accepted).toBe(a.accepted);
  });

  it('parses SKILL.md folders on workers as on one thread, front-matter errors at their positions', async () => {
    const md = (name: string, extra = ''): string =>
      `---\nname: ${name}\ndescription: Does ${name}.\n${extra}---\nRun scripts/go.sh.\n`;
    const files = {
      ...revision(),
      'skills/pdf-report/SKILL.md': md('pdf-report', 'metadata:\n  version: "2.0.0"\n'),
      'skills/pdf-report/scripts/go.sh': 'echo go\n',
      'skills/pdf-report/references/format.yaml': 'not: [a, resource\n',
      'skills/other/SKILL.md': md('other'),
      'skills/bad-one/SKILL.md': md('bad-one', 'license: 3\nbogus: x\n'),
      'skills/misnamed/SKILL.md': md('not-the-folder'),
    };
    const one = new Loader({ minFiles: Number.POSITIVE_INFINITY });
    const many = new Loader({ minFiles: 2, workers: 2, chunk: 4, mainThread: false });
    const a = await one.load(sources(files));
    const b = await many.load(sources(files));
    // The 46 YAML files and four SKILL.md; the scripts and references are listed, not parsed.
    expect(many.lastParsed).toBe(50);
    expect(many.lastOnWorkers).toBe(49);
    expect(b.findings).toEqual(a.findings);
    expect(b.resources).toEqual(a.resources);
    expect(a.findings.filter((f) => f.file.endsWith('SKILL.md')).map((f) => `${f.file}:${f.line}:${f.column}`)).toEqual(
      ['skills/bad-one/SKILL.md:4:10', 'skills/bad-one/SKILL.md:5:1', 'skills/misnamed/SKILL.md:2:7'],
    );
    const pdf = a.resources.find((r) => r.metadata.name === 'pdf-report');
    expect(pdf?.spec).toMatchObject({
      version: '2.0.0',
      instructions: 'Run scripts/go.sh.',
      agentSkill: { folder: 'skills/pdf-report', files: ['references/format.yaml', 'scripts/go.sh'] },
    });
    // A new script changes the folder's Skill though the SKILL.md's bytes are the same.
    const c = await many.load(sources({ ...files, 'skills/pdf-report/scripts/more.sh': 'echo\n' }));
    expect(many.lastParsed).toBe(1);
    const again = c.resources.find((r) => r.metadata.name === 'pdf-report');
    expect(again?.spec).toMatchObject({
      agentSkill: { files: ['references/format.yaml', 'scripts/go.sh', 'scripts/more.sh'] },
    });
  });

  it('parses on the main thread whatever a failed worker did not send back', async () => {
    const dir = tempDir();
    const script = join(dir, 'failing-worker.mjs');
    writeFileSync(script, "throw new Error('worker cannot start');\n");
    const one = new Loader({ minFiles: Number.POSITIVE_INFINITY });
    const failing = new Loader({ minFiles: 2, workers: 1, chunk: 4, mainThread: false, script: pathToFileURL(script) });
    const a = await one.load(sources(revision()));
    const b = await failing.load(sources(revision()));
    expect(failing.lastParsed).toBe(46);
    expect(failing.lastOnWorkers).toBe(0);
    expect(b).toEqual(a);
    rmSync(dir, { recursive: true, force: true });
  });
});
