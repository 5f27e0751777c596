// How a shell step's command becomes a process: the shell a step chose (`shell: bash` or
// `sh`) with the strict options people know from CI (GitHub Actions): bash runs
// `--noprofile --norc -eo pipefail`, sh runs `-e`. A step that names no shell is strict too.

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { StepShell } from '../../reconciler/specs.js';

export type { StepShell };

let bashPath: string | undefined | null = null;

/** bash from the daemon's PATH, found once: a step's allow-listed PATH may lack it. */
function hostBash(): string | undefined {
  if (bashPath !== null) return bashPath;
  bashPath = undefined;
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const p = join(dir, 'bash');
    try {
      accessSync(p, constants.X_OK);
      bashPath = p;
      break;
    } catch {
      // Not in this directory.
    }
  }
  return bashPath;
}

/**
 * The argv that runs one command. On the host the default is bash (on every Debian); in
 * a container it is the image's /bin/sh with `-eo pipefail` (busybox ash and bash take it;
 * a shell that does not fails loudly rather than running lax), since an image need not
 * ship bash.
 */
export function shellArgv(shell: StepShell | undefined, command: string, where: 'local' | 'docker'): string[] {
  if (shell === 'sh') return ['/bin/sh', '-e', '-c', command];
  const bash = where === 'local' ? hostBash() : shell === 'bash' ? 'bash' : undefined;
  if (bash) return [bash, '--noprofile', '--norc', '-eo', 'pipefail', '-c', command];
  return ['/bin/sh', '-eo', 'pipefail', '-c', command];
}
