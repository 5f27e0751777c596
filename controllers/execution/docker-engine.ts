// Which Docker engine the docker and swarm backends talk to: the Runtime's
// `execution.docker.host` (unix://, tcp:// with client certificates, ssh://), else
// DOCKER_HOST, else the local socket. Certificates and keys are secret references read at
// connection time; one client is kept per distinct engine setting.

import Docker from 'dockerode';
import type { DockerEngineSpec } from '../../reconciler/specs.js';
import { CaduceusError } from '../../reconciler/errors.js';
import { resolveSecret } from '../../reconciler/secrets.js';

export interface EngineContext {
  /** Base of relative `valueFrom.file` references (the configuration root). */
  baseDir?: string;
  env?: NodeJS.ProcessEnv;
}

/** dockerode's options for an engine setting; {} leaves it to DOCKER_HOST or the local socket. */
export function engineOptions(spec: DockerEngineSpec | undefined, ctx: EngineContext = {}): Docker.DockerOptions {
  if (!spec?.host) return {};
  const secret = (ref: Parameters<typeof resolveSecret>[0]): string =>
    resolveSecret(ref, { env: ctx.env, baseDir: ctx.baseDir });
  let url: URL;
  try {
    url = new URL(spec.host);
  } catch {
    throw badHost(spec.host, 'is not a URL');
  }
  if (url.protocol === 'unix:') return { socketPath: url.pathname };
  if (url.protocol === 'tcp:') {
    if (!url.hostname) throw badHost(spec.host, 'names no host');
    const tls = spec.tls;
    return {
      host: url.hostname,
      port: Number(url.port || (tls ? 2376 : 2375)),
      protocol: tls ? 'https' : 'http',
      ...(tls ? { ca: secret(tls.ca), cert: secret(tls.cert), key: secret(tls.key) } : {}),
    };
  }
  if (url.protocol === 'ssh:') {
    if (!url.hostname) throw badHost(spec.host, 'names no host');
    const env = ctx.env ?? process.env;
    return {
      protocol: 'ssh',
      host: url.hostname,
      port: Number(url.port || 22),
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      // The remote end runs `docker system dial-stdio`, as the docker CLI does over ssh.
      sshOptions: spec.sshKey
        ? { privateKey: secret(spec.sshKey) }
        : { ...(env.SSH_AUTH_SOCK ? { agent: env.SSH_AUTH_SOCK } : {}) },
    } as Docker.DockerOptions;
  }
  throw badHost(spec.host, 'is not unix://, tcp:// or ssh://');
}

function badHost(host: string, why: string): CaduceusError {
  return new CaduceusError('InvalidDockerHost', `execution.docker.host "${host}" ${why}`, {
    field: 'spec.execution.docker.host',
    hint: 'write unix:///var/run/docker.sock, tcp://HOST:2376 (with tls) or ssh://USER@HOST',
  });
}

/** One dockerode client per engine setting, made on first use (dockerode connects lazily). */
export class Engines {
  private key = '';
  private client: Docker | undefined;

  constructor(private readonly ctx: EngineContext = {}) {}

  get(spec: DockerEngineSpec | undefined): Docker {
    const key = JSON.stringify(spec ?? {});
    if (!this.client || key !== this.key) {
      this.client = new Docker(engineOptions(spec, this.ctx));
      this.key = key;
    }
    return this.client;
  }

  /** Where the engine is, for messages (never a credential). */
  describe(spec: DockerEngineSpec | undefined): string {
    return spec?.host ?? (this.ctx.env ?? process.env).DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  }
}
