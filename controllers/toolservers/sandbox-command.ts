// How a ToolServer's stdio command runs when the Runtime isolates (execution mode docker or
// swarm): `docker run -i --rm` on the Runtime's engine with the sandbox's restrictions, so
// the SDK's stdio transport speaks to the server through the docker CLI's attached stdin/stdout.

import { CaduceusError } from '../../reconciler/errors.js';
import { parseMemory } from '../../reconciler/quantity.js';
import type { RuntimeSpec } from '../../reconciler/specs.js';

/** Where the configuration is mounted, read-only, as for skill steps in the sandbox. */
const CONFIG = '/config';

/** Variables of Caduceus's own environment that tell the docker CLI which engine to use. */
const ENGINE_ENV = ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_CONFIG', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH'];

export interface SandboxCommand {
  command: string;
  args: string[];
  /** Added to the SDK's default environment of the docker CLI. */
  env: Record<string, string>;
}

/** True when the Runtime runs work in containers rather than as local processes. */
export function isolates(runtime: RuntimeSpec): boolean {
  return runtime.execution.mode !== 'local';
}

/**
 * The docker CLI invocation of `command` in the sandbox: the Runtime's image, network, user,
 * read-only root, memory, CPU and process limits; no capabilities; the configuration at
 * /config (read-only, the working directory). In swarm mode the server is a plain container
 * on the manager's engine: a Swarm job cannot keep a stdin open to its caller.
 */
export function sandboxCommand(
  server: string,
  command: readonly string[],
  runtime: RuntimeSpec,
  configDir: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): SandboxCommand {
  const iso = runtime.isolation;
  const engine = runtime.execution.docker;
  if (engine?.tls || engine?.sshKey)
    throw new CaduceusError(
      'ToolServerEngineUnsupported',
      'a ToolServer command in the sandbox reaches the engine through the docker CLI, which is given no ' +
        'certificates or SSH key from execution.docker',
      { hint: 'use an engine reachable without them (unix://, tcp:// on a trusted network, DOCKER_HOST) or a url' },
    );
  const args = [
    ...(engine?.host ? [`--host=${engine.host}`] : []),
    'run',
    '-i',
    '--rm',
    '--pull=never', // the image is built here (`caduceus sandbox build`); there may be no registry
    '--init', // PID 1 forwards the SIGTERM of close(); a shell as PID 1 would ignore it
    `--network=${iso.network}`,
    '--cap-drop=ALL',
    '--security-opt=no-new-privileges',
    `--user=${iso.user ?? '65534:65534'}`,
    ...(iso.readOnly ? ['--read-only', '--tmpfs=/tmp'] : []),
    // In bytes: the docker CLI does not read `Mi`, `Gi` as the spec writes them.
    ...(iso.memory ? [`--memory=${parseMemory(iso.memory)}`] : []),
    ...(iso.cpus !== undefined ? [`--cpus=${iso.cpus}`] : []),
    ...(iso.pids !== undefined ? [`--pids-limit=${iso.pids}`] : []),
    ...(configDir
      ? [`--volume=${configDir}:${CONFIG}:ro`, `--workdir=${CONFIG}`, `--env=CADUCEUS_CONFIG_DIR=${CONFIG}`]
      : []),
    `--label=caduceus.toolserver=${server}`,
    iso.image,
    ...command,
  ];
  const passed = Object.fromEntries(
    ENGINE_ENV.flatMap((k) => (env[k] !== undefined && !engine?.host ? [[k, env[k] as string]] : [])),
  );
  return { command: 'docker', args, env: passed };
}
