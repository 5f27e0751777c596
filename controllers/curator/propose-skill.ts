// The skill auto-creation path: a skill proposed as YAML (by the agent, after a long chain
// of tool calls) is validated against the tracked tree and delivered through the same
// branch-and-pull-request mechanism as curator proposals, on its own branch so it is
// reviewed on its own: `<prefix>/new-skill-<name>`, or, when it is a near-duplicate of an
// existing skill (the curator's similarity check), `<prefix>/update-skill-<existing>` with
// that skill's steps and params rewritten in place. A SKILL.md (format `skill-md`) becomes
// the folder `skills/<name>/`, or rewrites the instructions of a similar SKILL.md skill.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isMap, isSeq, parse, parseAllDocuments, parseDocument, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { CaduceusError } from '../../reconciler/errors.js';
import { describeFinding } from '../../reconciler/finding-format.js';
import { Loader } from '../../reconciler/loader.js';
import type { CuratorSpec, SkillParam, SkillSpec } from '../../reconciler/specs.js';
import type { Resource, SkillFormat } from '../../reconciler/types.js';
import { SKILL_MD } from '../../reconciler/skill-md.js';
import { CuratorStore } from './store.js';
import { ConfigTree } from './tree.js';
import type { CuratorEnv } from './run.js';
import { withTrackedClone } from './lock.js';
import { dayStamp, makeForge, upsertPr, writeChanges } from './publish.js';
import { chooseCurator } from './defaults.js';
import { jaccard, shingles } from './minhash.js';
import { YamlEditor } from './yaml-edit.js';

export interface NewSkillResult {
  id: string;
  /** `update`: `name` is the existing skill the proposal rewrites. */
  action: 'create' | 'update';
  name: string;
  file: string;
  branch: string;
  outcome: 'proposed' | 'unchanged';
  pr: { number: number; url: string };
  similarity?: number;
}

export interface ProposeSkillOpts {
  reason: string;
  curator?: string;
  spec?: CuratorSpec;
  lockWaitMs?: number;
  proposedBy?: string;
  /** Propose a near-duplicate as an update of the existing skill (see Runner.proposeSkill). */
  updateSimilar?: boolean;
  /** `skill-md`: the text is a SKILL.md (Agent Skills format). Default `yaml`. */
  format?: SkillFormat;
}

/** What one proposal writes, before it is committed. */
interface Change {
  action: NewSkillResult['action'];
  name: string;
  file: string;
  text: string;
  similarity?: number;
  /** The id's input: what makes this proposal this one. */
  key: string;
  branch: string;
  subject: string;
  title: string;
  body: string;
}

/**
 * Validates `yamlText` (one Skill document) against the tracked tree and proposes it on a
 * branch with a pull request. Throws CaduceusError SkillInvalid / SkillExists /
 * ProposalClosed with what to change.
 */
export async function proposeNewSkill(
  env: CuratorEnv,
  yamlText: string,
  opts: ProposeSkillOpts,
): Promise<NewSkillResult> {
  if (!('repo' in env.source))
    throw new CaduceusError('CuratorNeedsRepo', 'proposing a skill needs the git repository the reconciler follows');
  const proposed = opts.format === 'skill-md' ? parseSkillMdText(yamlText) : parseSkill(yamlText);
  const cstore = new CuratorStore(env.store);
  return withTrackedClone(env.stateDir, env.source, cstore, opts.lockWaitMs, async ({ git, tip, root, path }) => {
    const tree = new ConfigTree(root);
    const loader = new Loader();
    const base = await loader.load(tree.sourceFiles());
    const { spec, curator } = chooseCurator(base.resources, opts);
    const skills = base.resources.filter((r): r is Resource<'Skill'> => r.kind === 'Skill');

    // A near-duplicate is looked for among skills of the same form, which the update can edit.
    const sameForm = skills.filter((r) => (r.spec.agentSkill !== undefined) === proposed.skillMd);
    const similar = opts.updateSimilar ? mostSimilar(sameForm, proposed.spec, spec.thresholds.similarity) : undefined;
    const change = similar
      ? proposed.skillMd
        ? revisionMd(tree, similar.skill, proposed, similar.similarity, spec, opts, tip)
        : revision(tree, similar.skill, proposed, similar.similarity, spec, opts, tip)
      : creation(tree, root, skills, proposed, spec, opts, tip);
    tree.write(change.file, change.text);
    const errors = (await loader.load(tree.sourceFiles())).findings.filter((f) => f.severity === 'error');
    const mine = errors.filter((f) => f.file === change.file);
    if (errors.length > 0) {
      const shown = (mine.length ? mine : errors).slice(0, 10).map(describeFinding);
      throw new CaduceusError('SkillInvalid', `the proposed skill does not pass validation:\n${shown.join('\n')}`, {
        hint: mine.length
          ? 'fix the skill YAML and propose it again'
          : 'the tracked revision itself does not validate; fix it first',
      });
    }

    const hash = createHash('sha256').update(change.text).digest('hex');
    const id = createHash('sha256').update(`${change.key}\0${hash}`).digest('hex').slice(0, 12);
    const known = cstore.proposal(id);
    if (known && known.state === 'closed')
      throw new CaduceusError(
        'ProposalClosed',
        `this skill was proposed before and the pull request was closed without merging`,
        { hint: 'change the skill before proposing it again' },
      );

    const forge = makeForge(env, spec, git, cstore, curator);
    await git.checkout(tip, change.branch);
    const now = (env.now ?? Date.now)();
    const by = (opts.proposedBy ?? 'the agent').replace(/\n+/g, ' ');
    const message = [
      change.subject,
      '',
      `- ${opts.reason.replace(/\n+/g, ' ')}`,
      `- proposed by ${by}; validated against ${tip.slice(0, 12)}`,
      '',
      `Curator-Proposal: ${id}`,
      '',
    ].join('\n');
    const head = await git.commit(writeChanges(git, path, [[change.file, change.text]]), message, dayStamp(now));
    const remote = await git.remoteSha(change.branch);
    let outcome: NewSkillResult['outcome'] = 'proposed';
    if (remote && (await git.parentOf(remote)) === tip && (await git.tree(remote)) === (await git.tree(head)))
      outcome = 'unchanged';
    else await git.pushBranch(change.branch, spec.branchPrefix, remote);

    const { pr } = await upsertPr(forge, git, {
      branch: change.branch,
      title: change.title,
      body: change.body,
      labels: spec.labels,
      changed: outcome === 'proposed',
    });
    const commit = outcome === 'unchanged' ? (remote as string) : await git.head();
    cstore.upsertProposal({
      id,
      curator,
      action: change.action === 'create' ? 'create' : 'revise',
      skills: [change.name],
      skillHashes: { [change.name]: hash },
      state: 'open',
      branch: change.branch,
      commit,
      prNumber: pr.number || null,
      prUrl: pr.url || null,
      title: change.action === 'create' ? `add skill ${change.name}` : `update skill ${change.name}`,
      evidence: {
        reason: opts.reason,
        lines: [opts.reason],
        similarity: change.similarity,
      },
      files: [change.file],
      diff: await git.show(commit),
      position: 0,
      createdAt: known?.createdAt ?? now,
      updatedAt: now,
    });
    return {
      id,
      action: change.action,
      name: change.name,
      file: change.file,
      branch: change.branch,
      outcome,
      pr: { number: pr.number, url: pr.url },
      similarity: change.similarity,
    };
  });
}

interface ProposedSkill {
  name: string;
  spec: SkillSpec;
  text: string;
  /** A SKILL.md rather than a Skill YAML document. */
  skillMd: boolean;
}

/** A new skill file next to the others (`skills/<name>.yaml` when there is a skills folder). */
function creation(
  tree: ConfigTree,
  root: string,
  skills: readonly Resource<'Skill'>[],
  proposed: ProposedSkill,
  spec: CuratorSpec,
  opts: ProposeSkillOpts,
  tip: string,
): Change {
  const { name } = proposed;
  const clash = skills.find((r) => r.metadata.name === name || r.spec.aliases?.includes(name));
  if (clash)
    throw new CaduceusError(
      'SkillExists',
      `skill "${name}" already exists at ${clash.source.file}:${clash.source.line}`,
      {
        hint: 'choose another name, or change the existing skill',
      },
    );
  const file = proposed.skillMd
    ? `${skillMdParent(skills)}/${name}/${SKILL_MD}`
    : tree.diskFiles().some((f) => f.startsWith('skills/')) || existsSync(join(root, 'skills'))
      ? `skills/${name}.yaml`
      : `${name}.yaml`;
  if (tree.exists(file) || (proposed.skillMd && existsSync(join(root, file, '..'))))
    throw new CaduceusError('SkillExists', `${file} already exists`, { hint: 'choose another name' });
  return {
    action: 'create',
    name,
    file,
    text: proposed.text.endsWith('\n') ? proposed.text : `${proposed.text}\n`,
    key: `create\0${name}`,
    branch: `${spec.branchPrefix}/new-skill-${name}`,
    subject: `curator: add skill ${name}`,
    title: `Curator: new skill ${name}`,
    body: [
      proposed.skillMd
        ? `The agent proposes a new skill \`${name}\` as the Agent Skills folder \`${dirname(file)}/\`.`
        : `The agent proposes a new skill \`${name}\` in \`${file}\`.`,
      '',
      `**Why:** ${opts.reason}`,
      '',
      `It passes validation against \`${tip.slice(0, 12)}\`. Merge to make it available; close to reject it.`,
      '',
      '<!-- caduceus-curator -->',
      '',
    ].join('\n'),
  };
}

/**
 * The existing skill rewritten in place, keeping its name, aliases, description and
 * comments: the proposed steps replace its steps, the proposed params come first and its
 * other params stay (callers may pass them), and the version moves up one minor step.
 */
function revision(
  tree: ConfigTree,
  target: Resource<'Skill'>,
  proposed: ProposedSkill,
  similarity: number,
  spec: CuratorSpec,
  opts: ProposeSkillOpts,
  tip: string,
): Change {
  const name = target.metadata.name;
  const file = target.source.file;
  const ed = new YamlEditor(tree.read(file));
  const found = ed.findDoc('Skill', name);
  const specNode = found?.doc.get('spec', true);
  if (!found || !isMap(specNode)) throw new CaduceusError('SkillInvalid', `${file} has no Skill ${name} to update`);
  const seqIndent = ed.seqIndent(found.index);
  const steps = specNode.get('steps', true);
  if (!isSeq(steps)) throw new CaduceusError('SkillInvalid', `skill ${name} in ${file} has no steps sequence`);
  ed.replaceSeqItems(steps as YAMLSeq, proposed.spec.steps);
  const kept = target.spec.params.filter((p) => !proposed.spec.params.some((q) => q.name === p.name));
  const params = [...proposed.spec.params, ...kept].map(plainParam);
  const paramsNode = specNode.get('params', true);
  if (isSeq(paramsNode)) ed.replaceSeqItems(paramsNode as YAMLSeq, params);
  else if (params.length > 0) ed.addMapPair(specNode as YAMLMap, 'params', params, seqIndent);
  const version = specNode.get('version', true) as Scalar | undefined;
  const next = nextVersion(target.spec.version);
  if (version) ed.replaceScalar(version, next);
  return updateChange(name, file, ed.result(), 'steps', `version ${target.spec.version} → ${next}`, {
    proposed,
    similarity,
    spec,
    opts,
    tip,
  });
}

/**
 * The update proposal of an existing skill (its steps in YAML, its instructions in a
 * SKILL.md): one branch, subject and pull-request text for both forms.
 */
function updateChange(
  name: string,
  file: string,
  text: string,
  what: 'steps' | 'instructions',
  versions: string | undefined,
  ctx: { proposed: ProposedSkill; similarity: number; spec: CuratorSpec; opts: ProposeSkillOpts; tip: string },
): Change {
  const { proposed, similarity, spec, opts, tip } = ctx;
  const pct = Math.round(similarity * 100);
  return {
    action: 'update',
    name,
    file,
    text,
    similarity,
    key: `update\0${name}`,
    branch: `${spec.branchPrefix}/update-skill-${name}`,
    subject: `curator: update skill ${name} from an agent run`,
    title: `Curator: update skill ${name}`,
    body: [
      `The agent proposes new ${what} for the skill \`${name}\` in \`${file}\`${versions ? ` (${versions}).` : '.'}`,
      '',
      `What it did is ${pct}% similar to this skill (threshold ${spec.thresholds.similarity}), so it is offered ` +
        `as an update rather than as a second skill \`${proposed.name}\`.`,
      '',
      `**Why:** ${opts.reason}`,
      '',
      `It passes validation against \`${tip.slice(0, 12)}\`. ` +
        `Merge to take the new ${what}; close to keep the skill as it is.`,
      '',
      '<!-- caduceus-curator -->',
      '',
    ].join('\n'),
  };
}

/** The existing skill most like the proposal, when at or above the threshold (the curator's shingles and Jaccard). */
function mostSimilar(
  skills: readonly Resource<'Skill'>[],
  proposed: SkillSpec,
  threshold: number,
): { skill: Resource<'Skill'>; similarity: number } | undefined {
  const mine = shingles(proposed);
  let best: { skill: Resource<'Skill'>; similarity: number } | undefined;
  for (const s of skills) {
    const sim = jaccard(mine, shingles(s.spec));
    if (sim >= threshold && (!best || sim > best.similarity)) best = { skill: s, similarity: sim };
  }
  return best && { ...best, similarity: Number(best.similarity.toFixed(3)) };
}

/** 1.2.3 → 1.3.0, 1.2 → 1.3, 4 → 5; anything else gets `.1` appended. */
export function nextVersion(v: string): string {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(v);
  if (!m) return `${v}.1`;
  const [, major, minor, patch] = m;
  if (minor === undefined) return String(Number(major) + 1);
  return patch === undefined ? `${major}.${Number(minor) + 1}` : `${major}.${Number(minor) + 1}.0`;
}

function plainParam(p: SkillParam): Record<string, unknown> {
  // Only what the author would write: the schema's defaults (required: false) are left out.
  const out: Record<string, unknown> = { name: p.name, type: p.type };
  if (p.required) out.required = true;
  if (p.default !== undefined) out.default = p.default;
  if (p.values) out.values = p.values;
  if (p.description) out.description = p.description;
  return out;
}

function parseSkill(yamlText: string): ProposedSkill {
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
  const raw = (doc.toJS() as { spec?: Partial<SkillSpec> }).spec ?? {};
  // Only for the similarity check: validation proper is the loader's, on the whole tree.
  const spec: SkillSpec = {
    version: String(raw.version ?? ''),
    description: String(raw.description ?? ''),
    params: (Array.isArray(raw.params) ? raw.params : []).map((p) => ({ ...p, required: p.required === true })),
    steps: Array.isArray(raw.steps) ? raw.steps : [],
    timeout: String(raw.timeout ?? '10m'),
    aliases: Array.isArray(raw.aliases) ? raw.aliases : [],
  };
  return { name, spec, text: yamlText, skillMd: false };
}

const SKILL_MD_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** A SKILL.md's name, description and instructions; the loader validates it with the tree. */
function parseSkillMdText(text: string): ProposedSkill {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n([\s\S]*)$/.exec(text);
  if (!m) throw new CaduceusError('SkillInvalid', 'a SKILL.md starts with YAML front matter between two "---" lines');
  let fm: { name?: unknown; description?: unknown } | null;
  try {
    fm = parse(m[1] as string) as typeof fm;
  } catch (err) {
    throw new CaduceusError('SkillInvalid', `the front matter is not valid YAML: ${(err as Error).message}`);
  }
  const name = fm?.name;
  if (typeof name !== 'string' || name.length > 64 || !SKILL_MD_NAME.test(name))
    throw new CaduceusError('SkillInvalid', 'name must be lower-case letters, digits and single hyphens (at most 64)');
  const spec: SkillSpec = {
    version: '0.1.0',
    description: String(fm?.description ?? ''),
    params: [],
    steps: [],
    timeout: '10m',
    aliases: [],
    instructions: (m[2] as string).trim(),
  };
  return { name, spec, text: text.endsWith('\n') ? text : `${text}\n`, skillMd: true };
}

/** Where new SKILL.md folders go: beside the existing ones, else in `skills/`. */
function skillMdParent(skills: readonly Resource<'Skill'>[]): string {
  const folder = skills.find((s) => s.spec.agentSkill)?.spec.agentSkill?.folder;
  return folder?.includes('/') ? folder.slice(0, folder.lastIndexOf('/')) : 'skills';
}

/**
 * A SKILL.md skill's instructions replaced by the proposed ones: its front matter (name,
 * description, license, …) stays, `metadata.version` moves up one minor step when it has
 * one, and its scripts and references are left alone.
 */
function revisionMd(
  tree: ConfigTree,
  target: Resource<'Skill'>,
  proposed: ProposedSkill,
  similarity: number,
  spec: CuratorSpec,
  opts: ProposeSkillOpts,
  tip: string,
): Change {
  const name = target.metadata.name;
  const file = `${target.spec.agentSkill?.folder}/${SKILL_MD}`;
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n/.exec(tree.read(file));
  if (!m) throw new CaduceusError('SkillInvalid', `${file} has no front matter to keep`);
  const fm = parseDocument(m[1] as string);
  const version = fm.getIn(['metadata', 'version']);
  const next = typeof version === 'string' ? nextVersion(version) : undefined;
  if (next) fm.setIn(['metadata', 'version'], next);
  const front = next ? fm.toString({ lineWidth: 0 }).trimEnd() : (m[1] as string);
  const text = `---\n${front}\n---\n${proposed.spec.instructions ?? ''}\n`;
  return updateChange(name, file, text, 'instructions', next ? `version ${version} → ${next}` : undefined, {
    proposed,
    similarity,
    spec,
    opts,
    tip,
  });
}
