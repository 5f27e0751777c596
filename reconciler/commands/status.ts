// `caduceus status`: the applied and attempted revision and every resource's conditions.

import { parse, runCommand } from './args.js';
import { openState, age, table } from './state-access.js';

const HELP = `usage: caduceus status [--state-dir DIR] [--json]

Prints the applied and the last attempted revision (with every error when it was
rejected) and a table of resources with their Ready condition and age.`;

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(argv, { 'state-dir': { type: 'string' }, json: { type: 'boolean' } }, HELP);
    if (!args) return 0;
    const core = openState(args.values['state-dir'] ?? '.caduceus') as NonNullable<ReturnType<typeof openState>>;
    const state = core.sourceState();
    const resources = core.allStatus();
    core.store.close();
    if (args.values.json) {
      process.stdout.write(JSON.stringify({ ...state, resources }, null, 2) + '\n');
      return 0;
    }
    const out: string[] = [];
    out.push(`Applied revision:   ${state.lastAppliedRevision ?? '(none)'}${state.lastAppliedAt ? `  (${age(state.lastAppliedAt)} ago)` : ''}`);
    out.push(`Attempted revision: ${state.lastAttemptedRevision ?? '(none)'}  ${state.lastAttemptOutcome ?? ''}`);
    if (state.lastAttemptOutcome === 'rejected') {
      out.push(`  rejected with ${state.lastAttemptErrors.length} error(s); the applied revision keeps running:`);
      for (const e of state.lastAttemptErrors) out.push(`    ${e.file}:${e.line}:${e.column}  ${e.message}  (${e.rule})`);
    }
    out.push('');
    const rows = resources.map((r) => {
      const ready = r.conditions.find((c) => c.type === 'Ready');
      const stalled = r.conditions.find((c) => c.type === 'Stalled' && c.status === 'True');
      return [r.kind, r.name, ready?.status ?? 'Unknown', (stalled ? 'Stalled:' : '') + (ready?.reason ?? ''), age(r.createdAt), (ready?.message ?? '').slice(0, 100)];
    });
    out.push(table(['KIND', 'NAME', 'READY', 'REASON', 'AGE', 'MESSAGE'], rows));
    process.stdout.write(out.join('\n'));
    return 0;
  });
}
