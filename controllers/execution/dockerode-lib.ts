// dockerode, loaded on first use: with docker-modem, ssh2, @grpc/grpc-js and protobufjs
// it is about 200 CommonJS modules, which an `up` whose work all runs locally never needs.
// The docker and swarm backends and the engine settings construct clients through this.

import { createRequire } from 'node:module';
import type Docker from 'dockerode';

let ctor: typeof Docker | undefined;

/** A dockerode client; `dockerode` is required on the first call. */
export function newDocker(opts?: Docker.DockerOptions): Docker {
  ctor ??= createRequire(import.meta.url)('dockerode') as typeof Docker;
  return new ctor(opts);
}
