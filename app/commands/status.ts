// `caduceus status`: the git source (and whether fetching it fails), the applied and
// attempted revision and every resource's conditions.

import { parse, runCommand } from '../../reconciler/cli/args.js';
import { writeStructured } from '../../reconciler/cli/output.js';
import { openState, age, table } from '../../reconciler/cli/state-access.js';
import type { SourceHealth } from '../../reconciler/state/core-store.js';
import { formatFinding } from '../../reconciler/finding-format.js';

const HELP = `usage: caduceus status [--state-dir DIR] [--json]

Prints the git source (repository, branch, mode, and whether fetching it fails), the
applied and the last attempted revision (with every error when it was rejected) and a
table of resources with their Ready condition and age.`;

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(argv, { 'state-dir': { type: 'string' }, json: { type: 'boolean' } }, HELP);
    if (!args) return 0;
    const core = openState(args.values['state-dir'] ?? '.caduceus') as NonNullable<ReturnType<typeof openState>>;
    const state = core.sourceState();
    const source = core.sourceHealth();
    const resources = core.allStatus();
    core.store.close();
    if (args.values.json) {
      writeStructured({ source, ...state, resources });
      return 0;
    }
    const out: string[] = [];
    if (source) out.push(...sourceLines(source));
    const appliedAge = state.lastAppliedAt ? `  (${age(state.lastAppliedAt)} ago)` : '';
    out.push(`Applied revision:   ${state.lastAppliedRevision ?? '(none)'}${appliedAge}`);
    out.push(`Attempted revision: ${state.lastAttemptedRevision ?? '(none)'}  ${state.lastAttemptOutcome ?? ''}`);
    if (state.lastAttemptOutcome === 'rejected') {
      out.push(`  rejected with ${state.lastAttemptErrors.length} error(s); the applied revision keeps running:`);
      for (const e of state.lastAttemptErrors) out.push(`    ${formatFinding(e)}`);
    }
    out.push('');
    const rows = resources.map((r) => {
      const ready = r.conditions.find((c) => c.type === 'Ready');
      const stalled = r.conditions.find((c) => c.type === 'Stalled' && c.status === 'True');
      return [
        r.kind,
        r.name,
        ready?.status ?? 'Unknown',
        (stalled ? 'Stalled:' : '') + (ready?.reason ?? ''),
        age(r.createdAt),
        (ready?.message ?? '').slice(0, 100),
      ];
    });
    out.push(table(['KIND', 'NAME', 'READY', 'REASON', 'AGE', 'MESSAGE'], rows));
    process.stdout.write(out.join('\n'));
    return 0;
  });
}

/** `Source:` and, while fetching fails, what fails since when. */
function sourceLines(s: SourceHealth): string[] {
  const where = [s.branch ? `branch ${s.branch}` : '', s.path ? `path ${s.path}` : '', s.mode]
    .filter(Boolean)
    .join(', ');
  const lines = [`Source:             ${s.repo}  (${where})`];
  if (s.fetchErrors > 0) {
    const since = s.failingSince ?? s.lastFetchAt;
    lines.push(
      `  fetch failing since ${since ?? '?'}${since ? ` (${age(since)} ago)` : ''}: ` +
        `${s.lastFetchError ?? 'unknown error'} ` +
        `(${s.fetchErrors} attempt${s.fetchErrors === 1 ? '' : 's'}); the applied revision keeps running`,
    );
  }
  return lines;
}
