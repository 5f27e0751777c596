// Words for people: commit messages, the pull-request body (a table of proposals with
// their evidence and files, then stale and flagged skills), and the run report printed by
// `caduceus curator status`. Everything here is deterministic from its inputs, so a re-run
// with nothing new produces the same text.

import type { CuratorReport, Proposal, SkillSignal, UsageLine } from './types.js';

export const PR_TITLE = 'Curator: skill library proposals';

const day = (ms: number | null): string => (ms === null ? 'never' : new Date(ms).toISOString().slice(0, 10));

export function commitMessage(p: Proposal): string {
  return `curator: ${p.title}\n\n${p.evidenceLines.map((l) => `- ${l}`).join('\n')}\n\nCurator-Proposal: ${p.id}\n`;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function prBody(input: {
  proposals: Proposal[];
  stale: SkillSignal[];
  flagged: SkillSignal[];
  thresholds: { staleAfter: string; pruneAfter: string; failureRate: number };
  revision: string;
}): string {
  const out: string[] = [];
  out.push(
    `The curator proposes ${input.proposals.length} change(s) to the skill library, ` +
      `based on revision \`${input.revision.slice(0, 12)}\`.`,
  );
  out.push(
    'Each proposal is one commit; revert a commit on this branch to drop it, or close the pull request ' +
      'to reject them all (they will not be proposed again unless a skill changes).',
  );
  out.push('');
  out.push('| id | action | skills | evidence | files |');
  out.push('|---|---|---|---|---|');
  for (const p of input.proposals) {
    out.push(
      `| \`${p.id}\` | ${p.action} | ${cell(p.skills.join(', '))} | ${cell(p.evidenceLines.join('; '))} ` +
        `| ${cell(p.files.map((f) => `\`${f}\``).join(', '))} |`,
    );
  }
  if (input.stale.length > 0) {
    out.push(
      '',
      `### Marked stale`,
      `Unused for at least ${input.thresholds.staleAfter}; ` +
        `proposed for archiving once unused for ${input.thresholds.pruneAfter}:`,
      '',
    );
    for (const s of input.stale.slice(0, 200)) out.push(`- \`${s.name}\`: last used ${day(s.lastUsed)}`);
    if (input.stale.length > 200) out.push(`- … and ${input.stale.length - 200} more`);
  }
  if (input.flagged.length > 0) {
    out.push('', `### Flagged: failure rate over ${input.thresholds.failureRate}`, '');
    for (const s of input.flagged)
      out.push(`- \`${s.name}\`: ${s.failures} of ${s.runs} runs failed (${(s.failureRate * 100).toFixed(0)} %)`);
  }
  out.push('', '<!-- caduceus-curator -->');
  return `${out.join('\n')}\n`;
}

export function usageLines(skills: SkillSignal[], n = 5): { most: UsageLine[]; least: UsageLine[] } {
  const line = (s: SkillSignal): UsageLine => ({
    name: s.name,
    runs: s.runs,
    failureRate: Number(s.failureRate.toFixed(3)),
    lastUsed: s.lastUsed === null ? null : new Date(s.lastUsed).toISOString(),
  });
  const sorted = [...skills].sort(
    (a, b) => b.runs - a.runs || (b.lastUsed ?? 0) - (a.lastUsed ?? 0) || (a.name < b.name ? -1 : 1),
  );
  return { most: sorted.slice(0, n).map(line), least: sorted.slice(-n).reverse().map(line) };
}

/** The report as text, for `caduceus curator status` and the CLI run. */
export function renderReport(r: CuratorReport): string {
  const out: string[] = [];
  out.push(
    `Curator ${r.curator}: ${r.outcome}${r.dryRun ? ' (dry run)' : ''} at ${new Date(r.finishedAt).toISOString()} ` +
      `(${r.trigger}, ${r.finishedAt - r.startedAt} ms)`,
  );
  if (r.message) out.push(`  ${r.message}`);
  if (r.revision) out.push(`  revision ${r.revision}`);
  if (r.branch)
    out.push(`  branch ${r.branch}${r.pr ? `, pull request ${r.pr.number ? `#${r.pr.number} ` : ''}${r.pr.url}` : ''}`);
  const c = r.counts;
  out.push(
    `  ${c.skills} skills, ${c.runsInWindow} runs in the window; ${c.proposals} proposals, ${c.skipped} skipped, ` +
      `${c.stale} stale, ${c.flagged} flagged, ${c.pinned} pinned`,
  );
  for (const f of r.findings) out.push(`  invalid: ${f}`);
  if (r.mostUsed.length) out.push(`  most used:  ${r.mostUsed.map((u) => `${u.name} (${u.runs})`).join(', ')}`);
  if (r.leastUsed.length) out.push(`  least used: ${r.leastUsed.map((u) => `${u.name} (${u.runs})`).join(', ')}`);
  if (r.proposals.length) {
    out.push('', 'Proposals:');
    for (const p of r.proposals) out.push(`  ${p.id}  ${p.action.padEnd(11)}  ${p.title}  [${p.files.join(', ')}]`);
  }
  if (r.skipped.length) {
    out.push('', 'Skipped:');
    for (const s of r.skipped) out.push(`  ${s.action.padEnd(11)}  ${s.skills.join(', ')}: ${s.reason}`);
  }
  if (r.stale.length)
    out.push(
      '',
      `Marked stale: ${r.stale
        .slice(0, 20)
        .map((s) => s.name)
        .join(', ')}${r.stale.length > 20 ? ` … (+${r.stale.length - 20})` : ''}`,
    );
  if (r.flagged.length)
    out.push('', `Flagged (failure rate): ${r.flagged.map((f) => `${f.name} ${f.failures}/${f.runs}`).join(', ')}`);
  return `${out.join('\n')}\n`;
}
