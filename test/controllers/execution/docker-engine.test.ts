// Which engine the docker and swarm modes talk to: the Runtime's execution.docker.host in
// its three forms, with TLS material read from file references at connection time.

import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { engineOptions } from '../../../controllers/execution/docker-engine.js';
import { CaduceusError } from '../../../reconciler/errors.js';
import { tempDir } from '../../helpers/temp.js';

describe('docker engine settings', () => {
  it('leaves the choice to DOCKER_HOST or the local socket when no host is set', () => {
    expect(engineOptions(undefined)).toEqual({});
    expect(engineOptions({})).toEqual({});
  });

  it('reads a unix socket path', () => {
    expect(engineOptions({ host: 'unix:///run/user/1000/docker.sock' })).toEqual({
      socketPath: '/run/user/1000/docker.sock',
    });
  });

  it('speaks TLS to a tcp:// engine with the client certificates its references name', () => {
    const dir = tempDir('caduceus-tls-');
    for (const f of ['ca', 'cert', 'key']) writeFileSync(join(dir, `${f}.pem`), `-----${f}-----\n`);
    const ref = (f: string) => ({ valueFrom: { file: `${f}.pem` } });
    expect(
      engineOptions(
        { host: 'tcp://build-1.internal:2376', tls: { ca: ref('ca'), cert: ref('cert'), key: ref('key') } },
        { baseDir: dir },
      ),
    ).toEqual({
      host: 'build-1.internal',
      port: 2376,
      protocol: 'https',
      ca: '-----ca-----',
      cert: '-----cert-----',
      key: '-----key-----',
    });
    expect(engineOptions({ host: 'tcp://10.0.0.9' })).toEqual({ host: '10.0.0.9', port: 2375, protocol: 'http' });
  });

  it('reaches an ssh:// engine with the agent or a key reference', () => {
    expect(engineOptions({ host: 'ssh://ops@build-1' }, { env: { SSH_AUTH_SOCK: '/tmp/agent.sock' } })).toEqual({
      protocol: 'ssh',
      host: 'build-1',
      port: 22,
      username: 'ops',
      sshOptions: { agent: '/tmp/agent.sock' },
    });
    const key = { valueFrom: { env: 'DOCKER_SSH_KEY' } };
    expect(
      engineOptions({ host: 'ssh://ops@build-1:2222', sshKey: key }, { env: { DOCKER_SSH_KEY: 'PRIVATE-KEY' } }),
    ).toMatchObject({ port: 2222, sshOptions: { privateKey: 'PRIVATE-KEY' } });
  });

  it('refuses another scheme with InvalidDockerHost and says what to write', () => {
    let err: unknown;
    try {
      engineOptions({ host: 'http://engine:2375' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CaduceusError);
    expect((err as CaduceusError).code).toBe('InvalidDockerHost');
    expect((err as CaduceusError).describe()).toMatch(/is not unix:\/\/, tcp:\/\/ or ssh:\/\/ \(write unix:\/\/\//);
  });
});
