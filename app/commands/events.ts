// `caduceus events`: the recent events of the reconciler and its controllers.

import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { writeStructured } from '../../reconciler/cli/output.js';
import { openState, table } from '../../reconciler/cli/state-access.js';

const HELP = `usage: caduceus events [--for KIND/NAME] [--warnings] [--limit N] [--state-dir DIR] [--json]`;

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(
      argv,
      {
        'state-dir': { type: 'string' },
        json: { type: 'boolean' },
        limit: { type: 'string' },
        for: { type: 'string' },
        warnings: { type: 'boolean' },
      },
      HELP,
    );
    if (!args) return 0;
    const limit = Number(args.values.limit ?? 50);
    if (!Number.isInteger(limit) || limit <= 0) throw new UsageError(`--limit must be a positive integer\n\n${HELP}`);
    const core = openState(args.values['state-dir'] ?? '.caduceus') as NonNullable<ReturnType<typeof openState>>;
    const events = core.events({
      limit,
      object: args.values.for,
      type: args.values.warnings ? 'Warning' : undefined,
    });
    core.store.close();
    if (args.values.json) {
      writeStructured(events);
      return 0;
    }
    const rows = events.map((e) => [e.at.replace('T', ' ').slice(0, 19), e.type, e.reason, e.object ?? '-', e.message]);
    process.stdout.write(table(['TIME', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'], rows));
    return 0;
  });
}
