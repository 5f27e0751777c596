// `caduceus sandbox build [--tag T]`: builds the local Docker sandbox image from Debian's
// busybox-static with `docker import` (no registry needed). Used by test/env/ensure-docker.sh.

import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { buildSandboxImage } from './sandbox-image.js';
import { SANDBOX_IMAGE } from './runtime-config.js';
import { CaduceusError, errorMessage } from '../../reconciler/errors.js';

const HELP = `usage: caduceus sandbox build [--tag IMAGE]

Builds the sandbox image (default ${SANDBOX_IMAGE}) that docker-mode skills and tasks
run in: a root filesystem with Debian's static busybox (installed with apt-get when
missing), /tmp, a nobody user (65534) and /workspace, imported with \`docker import\`.
The Docker engine comes from DOCKER_HOST or /var/run/docker.sock.`;

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(argv, { tag: { type: 'string' } }, HELP);
    if (!args) return 0;
    const [sub] = args.positionals;
    if (sub !== 'build') throw new UsageError(`expected "build"\n\n${HELP}`);
    const tag = args.values.tag ?? SANDBOX_IMAGE;
    try {
      const id = await buildSandboxImage({ tag, log: (line) => process.stderr.write(`caduceus sandbox: ${line}\n`) });
      process.stdout.write(`built ${tag} (${id.slice(0, 19)})\n`);
      return 0;
    } catch (err) {
      process.stderr.write(`caduceus sandbox: ${errorMessage(err)}\n`);
      return err instanceof CaduceusError ? 1 : 2;
    }
  });
}
