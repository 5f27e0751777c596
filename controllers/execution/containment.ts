// Keeps everything a local step starts inside its run. The shell runs as PID 1 of a new
// PID namespace with its own /proc (util-linux `unshare`): whatever it starts — also what
// leaves the process group (setsid, double fork) — dies with it, and the daemon's
// /proc/<pid>/environ is out of sight. `setpriv --pdeathsig KILL` ties the namespace to
// this process, so a crash of `up` (kill -9) ends the run's processes as well.

import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export type ContainmentKind = 'pid-namespace' | 'process-group';

export interface Containment {
  kind: ContainmentKind;
  /** argv laid before the shell's own (with a namespace: ending in INIT). */
  prefix: string[];
  /** Why the stronger kinds were not available (process-group only). */
  reason?: string;
}

let probed: Promise<Containment> | undefined;

/**
 * PID 1 of the namespace. The kernel drops signals without a handler sent to a PID 1, so
 * the step itself must not be PID 1 (bash execs a last simple command in place): this
 * init runs it as a child, forwards SIGTERM to everything in the namespace (also to what
 * left the process group) and exits with the step's status. When it exits, the kernel
 * kills whatever is left in the namespace.
 */
const INIT = [
  // The init's own job reports ("Terminated") are not the step's output: only the step gets stderr.
  'exec 3>&2 2>/dev/null',
  'trap "kill -TERM -1" TERM INT HUP',
  '"$@" 2>&3 3>&- & c=$!',
  'while :; do wait "$c"; s=$?; kill -0 "$c" 2>/dev/null || exit "$s"; done',
].join('\n');

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/**
 * What this host allows, probed once (asynchronously: the first step must not stall the
 * daemon): a PID namespace as root, else one inside a user namespace (unprivileged), else
 * only the process group (a container without CAP_SYS_ADMIN, a host without util-linux).
 * The Runtime reports which it is.
 */
export function localContainment(): Promise<Containment> {
  probed ??= probe();
  return probed;
}

async function probe(): Promise<Containment> {
  const setpriv = which('setpriv');
  const unshare = which('unshare');
  if (!setpriv || !unshare)
    return { kind: 'process-group', prefix: [], reason: 'setpriv or unshare (util-linux) is not installed' };
  const ns = ['--pid', '--fork', '--kill-child', '--mount-proc'];
  const candidates = [
    [setpriv, '--pdeathsig', 'KILL', '--', unshare, ...ns, '--'],
    [setpriv, '--pdeathsig', 'KILL', '--', unshare, '--map-current-user', ...ns, '--'],
  ];
  let reason = '';
  for (const prefix of candidates) {
    const failed = await new Promise<string | undefined>((resolve) => {
      execFile(
        prefix[0] as string,
        [...prefix.slice(1), '/bin/sh', '-c', 'test "$$" = 1'],
        { timeout: 10_000 },
        (err, _out, stderr) => resolve(err ? (stderr.trim().split('\n').pop() ?? '') || err.message : undefined),
      );
    });
    if (failed === undefined)
      return { kind: 'pid-namespace', prefix: [...prefix, '/bin/sh', '-c', INIT, 'caduceus-init'] };
    reason = failed;
  }
  return { kind: 'process-group', prefix: [], reason: `unshare --pid failed: ${reason}` };
}
