// Memory under review: the notes an agent run collected with `remember` are appended to
// the memory file (a markdown file of the configuration) on one branch,
// `<prefix>/memory`, offered as one pull request that grows while it is open. Once it is
// merged or closed the next notes start a fresh branch from the tracked tip. Notes the
// file (or the open branch) already holds are not proposed again. Nothing is written to
// the tracked branch.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { CaduceusError } from '../../reconciler/errors.js';
import type { CuratorSpec } from '../../reconciler/specs.js';
import { Loader } from '../../reconciler/loader.js';
import { CuratorStore } from './store.js';
import { ConfigTree } from './tree.js';
import type { CuratorEnv } from './run.js';
import { withTrackedClone } from './lock.js';
import { dayStamp, makeForge, upsertPr, writeChanges } from './publish.js';
import { chooseCurator } from './defaults.js';

export interface MemoryResult {
  id: string;
  file: string;
  branch: string;
  notes: string[];
  outcome: 'proposed' | 'unchanged';
  pr: { number: number; url: string };
}

export interface ProposeMemoryOpts {
  file: string;
  reason: string;
  runId: string;
  proposedBy?: string;
  curator?: string;
  spec?: CuratorSpec;
  lockWaitMs?: number;
}

const HEADER =
  '# Memory\n\nNotes the agent proposed to remember, merged after review. Agent runs read this file as context.\n';

export async function proposeMemoryNotes(
  env: CuratorEnv,
  notes: readonly string[],
  opts: ProposeMemoryOpts,
): Promise<MemoryResult> {
  if (!('repo' in env.source))
    throw new CaduceusError('CuratorNeedsRepo', 'proposing memory needs the git repository the reconciler follows');
  const file = checkedFile(opts.file);
  const wanted = dedupe(notes.map(oneLine).filter((n) => n !== ''));
  const cstore = new CuratorStore(env.store);
  return withTrackedClone(env.stateDir, env.source, cstore, opts.lockWaitMs, async ({ git, tip, root, path }) => {
    const { spec, curator } = chooseCurator(
      (await new Loader().load(new ConfigTree(root).sourceFiles())).resources,
      opts,
    );
    const forge = makeForge(env, spec, git, cstore, curator);
    const branch = `${spec.branchPrefix}/memory`;
    const repoFile = path ? posix.join(path, file) : file;

    // Build on the open branch while its pull request is open; otherwise start again from the tip.
    const remote = await git.remoteSha(branch);
    let base = tip;
    if (remote) {
      const open = cstore.proposals({ state: 'open' }).filter((p) => p.action === 'memory' && p.branch === branch);
      const known = open.find((p) => p.prNumber);
      const pr = known
        ? { number: known.prNumber as number, url: known.prUrl ?? '', state: 'open' as const, branch, title: '' }
        : await forge.findPr(branch, git.tracked);
      const state = (await git.isAncestor(remote, tip)) ? 'merged' : pr ? await forge.getPrState(pr) : 'open';
      if (state === 'open') base = remote;
      else if (open.length > 0)
        cstore.setProposalState(
          open.map((p) => p.id),
          state,
        );
    }
    await git.checkout(base, branch);
    const abs = join(git.dir, ...repoFile.split('/'));
    const before = existsSync(abs) ? readFileSync(abs, 'utf8') : '';
    const present = new Set(bullets(before));
    const fresh = wanted.filter((n) => !present.has(n));
    const now = (env.now ?? Date.now)();
    const id = createHash('sha256')
      .update(`memory\0${file}\0${opts.runId}\0${fresh.join('\n')}`)
      .digest('hex')
      .slice(0, 12);
    if (fresh.length === 0) {
      const open = cstore.proposals({ state: 'open' }).find((p) => p.action === 'memory' && p.branch === branch);
      return {
        id: open?.id ?? id,
        file,
        branch,
        notes: [],
        outcome: 'unchanged',
        pr: { number: open?.prNumber ?? 0, url: open?.prUrl ?? '' },
      };
    }

    const short = opts.runId.slice(0, 8);
    const day = new Date(now).toISOString().slice(0, 10);
    const text = [
      `${(before || HEADER).replace(/\n*$/, '\n')}`,
      `## ${day}, run ${short}`,
      '',
      `${fresh.map((n) => `- ${n}`).join('\n')}\n`,
    ].join('\n');
    const by = (opts.proposedBy ?? 'the agent').replace(/\n+/g, ' ');
    const message = [
      `curator: remember ${fresh.length} note(s) from agent run ${short}`,
      '',
      `- ${opts.reason.replace(/\n+/g, ' ')}`,
      `- proposed by ${by}`,
      '',
      `Curator-Proposal: ${id}`,
      '',
    ].join('\n');
    await git.commit(writeChanges(git, path, [[file, text]]), message, dayStamp(now));
    await git.pushBranch(branch, spec.branchPrefix, remote);

    // The pull request lists everything the branch adds to the file, not only this run's notes.
    const atTip = new Set(bullets((await git.fileAt(tip, repoFile)) ?? ''));
    const pending = bullets(text).filter((n) => !atTip.has(n));
    const body = [
      `The agent proposes ${pending.length} note(s) for \`${file}\`, which agent runs read as context once merged.`,
      '',
      pending.map((n) => `- ${n}`).join('\n'),
      '',
      `**Latest:** ${opts.reason}`,
      '',
      'Edit or drop lines before merging; close to forget them.',
      '',
      '<!-- caduceus-curator -->',
      '',
    ].join('\n');
    const { pr } = await upsertPr(forge, git, {
      branch,
      title: 'Curator: agent memory',
      body,
      labels: spec.labels,
      changed: true,
    });
    const head = await git.head();
    cstore.upsertProposal({
      id,
      curator,
      action: 'memory',
      skills: [],
      skillHashes: {},
      state: 'open',
      branch,
      commit: head,
      prNumber: pr.number || null,
      prUrl: pr.url || null,
      title: `remember ${fresh.length} note(s) from run ${short}`,
      evidence: { reason: opts.reason, runId: opts.runId, lines: fresh },
      files: [file],
      diff: await git.show(head),
      position: 0,
      createdAt: now,
      updatedAt: now,
    });
    return { id, file, branch, notes: fresh, outcome: 'proposed', pr: { number: pr.number, url: pr.url } };
  });
}

/** The file as a config-relative markdown path, or MemoryInvalid. */
function checkedFile(file: string): string {
  const norm = posix.normalize(file.replace(/\\/g, '/'));
  if (posix.isAbsolute(norm) || norm.startsWith('..') || !/\.md$/.test(norm))
    throw new CaduceusError('MemoryInvalid', `memory file ${file} must be a markdown file inside the configuration`, {
      hint: 'set spec.agent.memoryFile to a path such as context/memory.md',
    });
  return norm;
}

/** A note as one markdown list line: whitespace collapsed, no leading list marker. */
function oneLine(note: string): string {
  return note
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[-*]\s+/, '');
}

function dedupe(notes: string[]): string[] {
  return [...new Set(notes)];
}

function bullets(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('- '))
    .map((l) => oneLine(l.slice(2)));
}
