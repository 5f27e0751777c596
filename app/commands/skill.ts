// `caduceus skill import PATH|GIT-URL` and `caduceus skill export NAME`: Agent Skills
// folders in and out of the configuration repository. An import is never live: the folder
// is committed on a branch of its own (through a temporary git worktree, so the checked-out
// branch and its files are untouched), validated with the rest of the configuration, and
// left for review and merge. An export writes a SKILL.md folder (a YAML skill's steps
// become its instructions).

import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { basename, join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { CaduceusError } from '../../reconciler/errors.js';
import { getResource, type Resource } from '../../reconciler/types.js';
import { renderSkillMd, SKILL_MD } from '../../reconciler/skill-md.js';
import { loadSnapshot } from './local-run.js';
import { gitTopLevel } from './up.js';

const HELP = `usage: caduceus skill import PATH|GIT-URL [DIR] [--subdir SUB] [--branch NAME]
       caduceus skill export NAME [DIR] [--out OUTDIR]

import  copies an Agent Skills folder (SKILL.md with scripts/, references/) into
        DIR/skills/<name>/ on a new branch (default skill-import/<name>) of DIR's git
        repository, validated with the whole configuration, as one commit to review
        and merge. The checked-out branch and its files are not touched.
        A GIT-URL is cloned (shallow); --subdir names the folder inside it.
export  writes skill NAME of the configuration in DIR (default .) as a SKILL.md
        folder OUTDIR/<name> (default ./<name>).`;

const GIT_URL = /^(https?:\/\/|ssh:\/\/|git@|file:\/\/)/;

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(argv, { subdir: { type: 'string' }, branch: { type: 'string' }, out: { type: 'string' } }, HELP);
    if (!args) return 0;
    const [verb, what, dir = '.', ...extra] = args.positionals;
    if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}\n\n${HELP}`);
    if (!what) throw new UsageError(HELP);
    if (verb === 'import') return importSkill(what, resolve(dir), args.values);
    if (verb === 'export') return exportSkill(what, resolve(dir), args.values.out);
    throw new UsageError(HELP);
  });
}

async function importSkill(
  source: string,
  configDir: string,
  opts: { subdir?: string; branch?: string },
): Promise<number> {
  const cleanup: string[] = [];
  try {
    let folder = resolve(source);
    if (GIT_URL.test(source)) {
      const clone = mkdtempSync(join(tmpdir(), 'caduceus-import-clone-'));
      cleanup.push(clone);
      execFileSync('git', ['clone', '-q', '--depth', '1', source, clone], { stdio: ['ignore', 'ignore', 'pipe'] });
      folder = join(clone, opts.subdir ?? '');
    } else if (opts.subdir) folder = join(folder, opts.subdir);
    if (!existsSync(join(folder, SKILL_MD)))
      throw new UsageError(`${folder} has no ${SKILL_MD}: give the folder of an Agent Skill (or --subdir)`);
    const name = frontMatterName(readFileSync(join(folder, SKILL_MD), 'utf8')) ?? basename(folder);
    const top = gitTopLevel(configDir);
    const sub = relative(top, configDir);
    const branch = opts.branch ?? `skill-import/${name}`;
    if (git(top, 'branch', '--list', branch) !== '')
      throw new UsageError(`branch ${branch} exists already: review it, or pass --branch`);
    const scratch = mkdtempSync(join(tmpdir(), 'caduceus-import-'));
    cleanup.push(scratch);
    const work = join(scratch, name);
    git(top, 'worktree', 'add', '-q', '-b', branch, work, 'HEAD');
    try {
      const target = join(work, sub, 'skills', name);
      if (existsSync(target)) throw new UsageError(`skills/${name} exists already in the configuration`);
      mkdirSync(target, { recursive: true });
      cpSync(folder, target, { recursive: true, filter: (p) => basename(p) !== '.git' });
      const snapshot = await loadSnapshot(join(work, sub));
      if (!snapshot || !getResource(snapshot, 'Skill', name)) {
        git(top, 'worktree', 'remove', '--force', work);
        git(top, 'branch', '-D', branch);
        process.stderr.write(`caduceus: the imported skill does not validate; nothing was committed\n`);
        return 1;
      }
      git(work, 'add', '-A', '--', join(sub, 'skills', name) || '.');
      git(work, '-c', 'commit.gpgsign=false', 'commit', '-q', '-m', `Import the Agent Skill ${name} from ${source}`);
      const commit = git(work, 'rev-parse', '--short', 'HEAD');
      git(top, 'worktree', 'remove', '--force', work);
      process.stdout.write(
        `imported skill ${name} as commit ${commit} on branch ${branch}; ` +
          `review it (git show ${branch}) and merge it to make it live\n`,
      );
      return 0;
    } catch (err) {
      if (existsSync(work)) git(top, 'worktree', 'remove', '--force', work);
      if (git(top, 'branch', '--list', branch) !== '') git(top, 'branch', '-D', branch);
      throw err;
    }
  } finally {
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  }
}

async function exportSkill(name: string, configDir: string, out: string | undefined): Promise<number> {
  const snapshot = await loadSnapshot(configDir);
  if (!snapshot) return 1;
  const skill = getResource(snapshot, 'Skill', name);
  if (!skill) throw new CaduceusError('UnknownSkill', `no skill named "${name}" in ${configDir}`);
  const target = resolve(out ?? '.', name);
  if (existsSync(target) && readdirSync(target).length > 0)
    throw new UsageError(`${target} exists and is not empty: choose another --out`);
  const src = skill.spec.agentSkill;
  if (src) {
    cpSync(join(configDir, src.folder), target, { recursive: true });
  } else {
    mkdirSync(target, { recursive: true });
    writeFileSync(join(target, SKILL_MD), skillMd(skill));
  }
  const files = readdirSync(target, { recursive: true }).filter((f) => statSync(join(target, String(f))).isFile());
  process.stdout.write(`wrote ${target} (${files.length} file(s))\n`);
  return 0;
}

/** The `name` of a SKILL.md's front matter, when it has one (the folder is named after it). */
function frontMatterName(text: string): string | undefined {
  const m = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
  try {
    const v = m ? (parseYaml(m[1] ?? '') as { name?: unknown } | null) : undefined;
    return typeof v?.name === 'string' && /^[a-z0-9]+(-[a-z0-9]+)*$/.test(v.name) ? v.name : undefined;
  } catch {
    return undefined;
  }
}

/** A YAML skill as a SKILL.md: its instructions, params and steps for an agent to follow. */
function skillMd(skill: Resource<'Skill'>): string {
  const s = skill.spec;
  return renderSkillMd({ name: skill.metadata.name, ...s });
}
