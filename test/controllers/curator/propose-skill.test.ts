import { describe, it, expect, afterEach } from 'vitest';
import { proposeNewSkill } from '../../../controllers/curator/index.js';
import { CuratorStore } from '../../../controllers/curator/store.js';
import { git } from '../../helpers/git.js';
import { makeFixture, type Fixture } from './fixtures.js';

const fixtures: Fixture[] = [];
afterEach(() => {
  for (const f of fixtures.splice(0)) f.store.close();
});

const SKILL = `apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: tail-logs
spec:
  version: "0.1.0"
  description: Show the last lines of the app's log
  params:
    - name: lines
      type: number
      default: 100
  steps:
    - run: kubectl logs deployment/app --tail "$PARAM_LINES"
`;

describe('proposeNewSkill', () => {
  it('delivers a validated new skill on its own branch, once', async () => {
    const f = makeFixture();
    fixtures.push(f);
    const main = f.mainSha();
    const r = await proposeNewSkill(f.env, SKILL, { reason: 'the agent ran kubectl logs 9 times in one turn' });
    expect(r).toMatchObject({
      name: 'tail-logs',
      file: 'skills/tail-logs.yaml',
      branch: 'curator/new-skill-tail-logs',
      outcome: 'proposed',
    });
    expect(git(f.bare, 'show', `${r.branch}:config/skills/tail-logs.yaml`)).toBe(SKILL.trimEnd());
    expect(git(f.bare, 'log', '--format=%s', `main..${r.branch}`)).toBe('curator: add skill tail-logs');
    expect(git(f.bare, 'show', '-s', '--format=%b', r.branch)).toContain(
      'the agent ran kubectl logs 9 times in one turn',
    );
    expect(f.mainSha()).toBe(main);
    const again = await proposeNewSkill(f.env, SKILL, { reason: 'same again' });
    expect(again.outcome).toBe('unchanged');
    expect(git(f.bare, 'rev-list', '--count', `main..${r.branch}`)).toBe('1');
    expect(new CuratorStore(f.store).proposal(r.id)).toMatchObject({
      action: 'create',
      state: 'open',
      files: ['skills/tail-logs.yaml'],
    });
  });

  it('refuses an invalid skill or a taken name and pushes nothing', async () => {
    const f = makeFixture();
    fixtures.push(f);
    const refs = f.remoteRefs();
    await expect(
      proposeNewSkill(f.env, SKILL.replace('    - run: kubectl', '    - skill: {name: nowhere}\n    - run: kubectl'), {
        reason: 'x',
      }),
    ).rejects.toMatchObject({
      code: 'SkillInvalid',
      message: expect.stringMatching(/skills\/tail-logs\.yaml:\d+:\d+: .*nowhere/),
    });
    await expect(
      proposeNewSkill(f.env, SKILL.replace('name: tail-logs', 'name: deploy'), { reason: 'x' }),
    ).rejects.toMatchObject({ code: 'SkillExists' });
    await expect(proposeNewSkill(f.env, 'kind: Task\nmetadata: {name: x}\n', { reason: 'x' })).rejects.toMatchObject({
      code: 'SkillInvalid',
    });
    expect(f.remoteRefs()).toBe(refs);
  });
});
