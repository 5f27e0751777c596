// `caduceus gateway log | status`: the gateway's audit log (every accepted, refused and
// rejected chat request) and the state of each platform endpoint, read from the state
// store that `caduceus up` writes.

import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { writeStructured } from '../../reconciler/cli/output.js';
import { openState, table } from '../../reconciler/cli/state-access.js';
import type { StateStore } from '../../reconciler/state/store.js';
import { AuditStore, type AuditLevel } from './audit-store.js';

const LOG_USAGE =
  'caduceus gateway log [--level info|warn|error] [--limit N] [--platform P] [--state-dir DIR] [--json]';
const HELP = `usage: ${LOG_USAGE}
       caduceus gateway status [--state-dir DIR] [--json]

log     the audit log, newest first: every accepted, refused and rejected chat request
        and how its run and reply ended. --level warn shows refusals, rejections
        (bad signatures, replays, oversized bodies) and failures only.
status  each GatewayPolicy's platforms, their endpoints and whether they are started
        (and why not), with counts of audit rows by decision.`;

type StateView = NonNullable<ReturnType<typeof openState>>;

/** Reads only: status of the loop's tables, and the gateway's own audit log. */
function openStores(stateDir: string): { store: StateStore; audit: AuditStore; core: StateView } {
  const core = openState(stateDir) as StateView;
  return { store: core.store, audit: new AuditStore(core.store), core };
}

function time(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

async function log(argv: string[]): Promise<number> {
  const args = parse(
    argv,
    {
      'state-dir': { type: 'string' },
      json: { type: 'boolean' },
      limit: { type: 'string' },
      level: { type: 'string' },
      platform: { type: 'string' },
    },
    HELP,
  );
  if (!args) return 0;
  const limit = Number(args.values.limit ?? 50);
  if (!Number.isInteger(limit) || limit <= 0) throw new UsageError(`--limit must be a positive integer\n\n${HELP}`);
  const level = args.values.level;
  if (level !== undefined && !['info', 'warn', 'error'].includes(level))
    throw new UsageError(`--level must be info, warn or error\n\n${HELP}`);
  const { store, audit } = openStores(args.values['state-dir'] ?? '.caduceus');
  try {
    const rows = audit.list({
      limit,
      minLevel: level as AuditLevel | undefined,
      platform: args.values.platform,
    });
    if (args.values.json) {
      writeStructured(rows.map((r) => ({ ...r, time: new Date(r.at).toISOString() })));
      return 0;
    }
    const body = rows.map((r) => [
      time(r.at),
      r.level.toUpperCase(),
      r.platform,
      r.user ?? '-',
      r.channel ?? '-',
      r.decision,
      r.command ?? '-',
      r.reason,
    ]);
    process.stdout.write(
      table(['TIME', 'LEVEL', 'PLATFORM', 'USER', 'CHANNEL', 'DECISION', 'COMMAND', 'REASON'], body),
    );
    return 0;
  } finally {
    store.close();
  }
}

interface PlatformObserved {
  endpoint?: string;
  ready?: boolean;
  reason?: string;
  message?: string;
}

async function status(argv: string[]): Promise<number> {
  const args = parse(argv, { 'state-dir': { type: 'string' }, json: { type: 'boolean' } }, HELP);
  if (!args) return 0;
  const { store, audit, core } = openStores(args.values['state-dir'] ?? '.caduceus');
  try {
    const policies = core
      .allStatus()
      .filter((s) => s.kind === 'GatewayPolicy')
      .map((s) => {
        const ready = s.conditions.find((c) => c.type === 'Ready');
        const platforms = (s.observed.platforms ?? {}) as Record<string, PlatformObserved>;
        return {
          name: s.name,
          ready: ready?.status ?? 'Unknown',
          reason: ready?.reason ?? '',
          message: ready?.message ?? '',
          users: s.observed.users ?? null,
          platforms: Object.entries(platforms).map(([platform, p]) => ({
            platform,
            endpoint: p.endpoint ?? `/gateway/${platform}`,
            ready: p.ready === true,
            reason: p.reason ?? null,
            message: p.message ?? null,
          })),
        };
      });
    const counts = audit.counts();
    if (args.values.json) {
      writeStructured({ policies, counts });
      return 0;
    }
    const out: string[] = [];
    if (policies.length === 0) out.push('No GatewayPolicy is applied.\n');
    for (const p of policies) {
      out.push(
        `GatewayPolicy ${p.name}: Ready=${p.ready} ${p.reason}` +
          (p.users !== null ? `, ${String(p.users)} user(s)` : ''),
      );
      out.push(`  ${p.message}`);
      out.push(
        table(
          ['PLATFORM', 'ENDPOINT', 'READY', 'REASON'],
          p.platforms.map((x) => [
            x.platform,
            `POST ${x.endpoint}`,
            x.ready ? 'True' : 'False',
            x.ready ? '' : `${x.reason ?? ''}: ${x.message ?? ''}`,
          ]),
        ),
      );
    }
    out.push('Audit rows by decision:');
    out.push(
      counts.length === 0
        ? '  (none)\n'
        : table(
            ['PLATFORM', 'DECISION', 'COUNT'],
            counts.map((c) => [c.platform, c.decision, String(c.count)]),
          ),
    );
    process.stdout.write(out.join('\n'));
    return 0;
  } finally {
    store.close();
  }
}

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === '--help' || sub === '-h') {
      process.stdout.write(`${HELP}\n`);
      return sub === undefined ? 2 : 0;
    }
    if (sub === 'log') return log(rest);
    if (sub === 'status') return status(rest);
    throw new UsageError(`unknown gateway command "${sub}"\n\n${HELP}`);
  });
}
