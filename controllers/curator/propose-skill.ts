// The skill auto-creation path: a new skill proposed as YAML (by the agent, after a long
// chain of tool calls) is validated against the tracked tree and delivered through the
// same branch-and-pull-request mechanism as curator proposals, on its own branch
// `<prefix>/new-skill-<name>` so it is reviewed on its own.

import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CaduceusError } from '../../reconciler/errors.js';
import { describeFinding } from '../../reconciler/finding-format.js';
import { Loader } from '../../reconciler/loader.js';
import type { CuratorSpec } from '../../reconciler/specs.js';
import type { Resource } from '../../reconciler/types.js';
import { CuratorStore } from './store.js';
import { ConfigTree } from './tree.js';
import { GitWork } from './git-work.js';
import type { CuratorEnv } from './run.js';
import { acquireLock } from './lock.js';
import { dayStamp, makeForge, upsertPr, writeChanges } from './publish.js';
import { chooseCurator } from './defaults.js';

export interface NewSkillResult {
  id: string;
  name: string;
  file: string;
  branch: string;
  outcome: 'proposed' | 'unchanged';
  pr: { number: number; url: string };
}

/**
 * Validates `yamlText` (one Skill document) against the tracked tree and proposes it on a
 * branch with a pull request. Throws CaduceusError SkillInvalid / SkillExists /
 * ProposalClosed with what to change.
 */
export async function proposeNewSkill(
  env: CuratorEnv,
  yamlText: string,
  opts: { reason: string; curator?: string; spec?: CuratorSpec; lockWaitMs?: number; proposedBy?: string },
): Promise<NewSkillResult> {
  if (!('repo' in env.source))
    throw new CaduceusError('CuratorNeedsRepo', 'proposing a skill needs the git repository the reconciler follows');
  const name = skillName(yamlText);
  const cstore = new CuratorStore(env.store);
  const holder = randomUUID();
  await acquireLock(cstore, holder, opts.lockWaitMs ?? 600_000, 1_800_000);
  try {
    const git = await GitWork.open(join(env.stateDir, 'curator', 'clone'), env.source.repo, env.source.branch);
    const tip = await git.trackedTip();
    await git.checkout(tip);
    const path = (env.source.path ?? '').replace(/^\.?\/*/, '').replace(/\/+$/, '');
    const root = path ? join(git.dir, path) : git.dir;
    const tree = new ConfigTree(root);
    const loader = new Loader();
    const base = await loader.load(tree.sourceFiles());
    const { spec, curator } = chooseCurator(base.resources, opts);

    const clash = base.resources.find(
      (r) => r.kind === 'Skill' && (r.metadata.name === name || (r as Resource<'Skill'>).spec.aliases?.includes(name)),
    );
    if (clash)
      throw new CaduceusError(
        'SkillExists',
        `skill "${name}" already exists at ${clash.source.file}:${clash.source.line}`,
        { hint: 'choose another name, or change the existing skill' },
      );
    const file =
      tree.diskFiles().some((f) => f.startsWith('skills/')) || existsSync(join(root, 'skills'))
        ? `skills/${name}.yaml`
        : `${name}.yaml`;
    if (tree.exists(file))
      throw new CaduceusError('SkillExists', `${file} already exists`, { hint: 'choose another name' });
    const text = yamlText.endsWith('\n') ? yamlText : `${yamlText}\n`;
    tree.write(file, text);
    const errors = (await loader.load(tree.sourceFiles())).findings.filter((f) => f.severity === 'error');
    const mine = errors.filter((f) => f.file === file);
    if (errors.length > 0) {
      const shown = (mine.length ? mine : errors).slice(0, 10).map(describeFinding);
      throw new CaduceusError('SkillInvalid', `the proposed skill does not pass validation:\n${shown.join('\n')}`, {
        hint: mine.length
          ? 'fix the skill YAML and propose it again'
          : 'the tracked revision itself does not validate; fix it first',
      });
    }

    const hash = createHash('sha256').update(text).digest('hex');
    const id = createHash('sha256').update(`create\0${name}\0${hash}`).digest('hex').slice(0, 12);
    const known = cstore.proposal(id);
    if (known && known.state === 'closed')
      throw new CaduceusError(
        'ProposalClosed',
        `this skill was proposed before and the pull request was closed without merging`,
        { hint: 'change the skill before proposing it again' },
      );

    const forge = makeForge(env, spec, git, cstore, curator);
    const branch = `${spec.branchPrefix}/new-skill-${name}`;
    await git.checkout(tip, branch);
    const now = (env.now ?? Date.now)();
    const oneLine = (s: string): string => s.replace(/\n+/g, ' ');
    const message =
      `curator: add skill ${name}\n\n- ${oneLine(opts.reason)}\n` +
      `- proposed by ${oneLine(opts.proposedBy ?? 'the agent')}; validated against ${tip.slice(0, 12)}\n\n` +
      `Curator-Proposal: ${id}\n`;
    const head = await git.commit(writeChanges(git, path, [[file, text]]), message, dayStamp(now));
    const remote = await git.remoteSha(branch);
    let outcome: NewSkillResult['outcome'] = 'proposed';
    if (remote && (await git.parentOf(remote)) === tip && (await git.tree(remote)) === (await git.tree(head)))
      outcome = 'unchanged';
    else await git.pushBranch(branch, spec.branchPrefix, remote);

    const title = `Curator: new skill ${name}`;
    const body =
      `The agent proposes a new skill \`${name}\` in \`${file}\`.\n\n**Why:** ${opts.reason}\n\n` +
      `It passes validation against \`${tip.slice(0, 12)}\`. Merge to make it available; close to reject it.\n\n` +
      '<!-- caduceus-curator -->\n';
    const { pr } = await upsertPr(forge, git, {
      branch,
      title,
      body,
      labels: spec.labels,
      changed: outcome === 'proposed',
    });
    const commit = outcome === 'unchanged' ? (remote as string) : await git.head();
    cstore.upsertProposal({
      id,
      curator,
      action: 'create',
      skills: [name],
      skillHashes: { [name]: hash },
      state: 'open',
      branch,
      commit,
      prNumber: pr.number || null,
      prUrl: pr.url || null,
      title: `add skill ${name}`,
      evidence: { reason: opts.reason, lines: [opts.reason] },
      files: [file],
      diff: await git.show(commit),
      position: 0,
      createdAt: known?.createdAt ?? now,
      updatedAt: now,
    });
    return { id, name, file, branch, outcome, pr: { number: pr.number, url: pr.url } };
  } finally {
    cstore.unlock(holder);
  }
}

function skillName(yamlText: string): string {
  const docs = parseAllDocuments(yamlText);
  const real = docs.filter((d) => d.contents !== null);
  if (real.length !== 1)
    throw new CaduceusError('SkillInvalid', `expected one YAML document with a Skill, found ${real.length}`);
  const doc = real[0] as (typeof docs)[number];
  if (doc.errors.length > 0)
    throw new CaduceusError('SkillInvalid', `the skill is not valid YAML: ${doc.errors[0]?.message ?? ''}`);
  if (doc.get('kind') !== 'Skill') throw new CaduceusError('SkillInvalid', 'the document is not a Skill (kind: Skill)');
  const name = doc.getIn(['metadata', 'name']);
  if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name))
    throw new CaduceusError('SkillInvalid', 'metadata.name must be a DNS label (lower-case letters, digits and -)');
  return name;
}
