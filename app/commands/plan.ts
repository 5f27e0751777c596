// `caduceus plan`: what applying a directory or a git revision would change against the
// applied state, like `terraform plan`. Exit 0 no changes, 1 changes, 2 error (as `flux diff`).

import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { useColor, writeStructured } from '../../reconciler/cli/output.js';
import { openState } from '../../reconciler/cli/state-access.js';
import { formatFinding } from '../../reconciler/finding-format.js';
import { plan, formatPlan, hasChanges } from '../../reconciler/planner.js';
import type { LoadResult } from '../../reconciler/loader.js';
import type { Finding } from '../../reconciler/types.js';

const HELP = `usage: caduceus plan [DIR] [--repo PATH --rev REV [--path SUBDIR]] [--state-dir DIR] [--json]

Compares the desired state (DIR, default '.', or the tree of REV in a git repository)
with what 'caduceus up' applied in the state directory (default .caduceus). Without
state, everything is a create. Exit 0 when nothing would change, 1 when something
would, 2 on error (invalid configuration included).`;

function printFindings(findings: Finding[]): void {
  for (const f of findings) process.stderr.write(`${formatFinding(f)}\n`);
}

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(
      argv,
      {
        repo: { type: 'string' },
        rev: { type: 'string' },
        path: { type: 'string' },
        'state-dir': { type: 'string' },
        json: { type: 'boolean' },
        color: { type: 'boolean' },
      },
      HELP,
    );
    if (!args) return 0;
    const v = args.values;
    if (v.rev && !v.repo) throw new UsageError(`--rev needs --repo\n\n${HELP}`);
    const { Loader, loadDirectory } = await import('../../reconciler/loader.js');
    let revision: string;
    let result: LoadResult;
    if (v.repo) {
      const { readRevision } = await import('../../reconciler/source/git-source.js');
      const rev = await readRevision(v.repo, v.rev ?? 'HEAD', v.path);
      revision = rev.id;
      result = await new Loader().load(rev.files);
    } else {
      const dir = args.positionals[0] ?? '.';
      revision = `dir:${dir}`;
      result = await loadDirectory(dir);
    }
    const errors = result.findings.filter((f) => f.severity === 'error');
    if (errors.length > 0) {
      printFindings(errors);
      process.stderr.write(
        `caduceus plan: the configuration has ${errors.length} error(s); run 'caduceus validate' for details\n`,
      );
      return 2;
    }
    const core = openState(v['state-dir'] ?? '.caduceus', { mustExist: false });
    const applied = core ? core.appliedHashes() : new Map<string, string>();
    const p = plan(result.resources, applied, (k) => core?.appliedResource(k));
    core?.store.close();
    if (v.json) writeStructured({ revision, ...p });
    else process.stdout.write(formatPlan(p, { revision, color: useColor(process.stdout, process.env, v.color) }));
    return hasChanges(p) ? 1 : 0;
  });
}
