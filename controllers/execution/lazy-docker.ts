// The Docker backend as the execution controller holds it: dockerode (with @grpc/grpc-js,
// protobufjs and ssh2 behind it, ~90 modules) is imported when a resource first needs
// Docker — an image to check, a container to run — not when `up` starts on a
// configuration that runs everything locally.

import type { ExecResult, Logger } from '../../reconciler/types.js';
import type { Backend, ProcessSpec } from './backend.js';
import type { DockerBackend } from './docker-backend.js';
import type { EffectiveIsolation } from './runtime-config.js';

/** What the controllers use of the Docker backend. */
export interface DockerAccess extends Backend {
  imageExists(image: string): Promise<boolean>;
  /** Removes containers left by crashed runs; see DockerBackend.gc. */
  gc(): Promise<number>;
  stop(): Promise<void>;
}

export class LazyDockerBackend implements DockerAccess {
  private backend: Promise<DockerBackend> | undefined;

  constructor(private readonly opts: { log: Logger; configDir?: string }) {}

  private get(): Promise<DockerBackend> {
    this.backend ??= import('./docker-backend.js').then(({ DockerBackend }) => new DockerBackend(this.opts));
    return this.backend;
  }

  async imageExists(image: string): Promise<boolean> {
    return (await this.get()).imageExists(image);
  }

  async run(spec: ProcessSpec, iso: EffectiveIsolation): Promise<ExecResult> {
    return (await this.get()).run(spec, iso);
  }

  async gc(): Promise<number> {
    return (await this.get()).gc();
  }

  async stop(): Promise<void> {
    // Nothing to stop when Docker was never used.
    if (this.backend) await (await this.backend).stop();
  }
}
