// Where a ToolServer's stdio command runs: as itself in the local mode, through
// `docker run -i` on the Runtime's engine otherwise; an engine that needs certificates or
// an SSH key, which the docker CLI is not given, is refused with the code to look up.

import { describe, expect, it } from 'vitest';
import { isolates, sandboxCommand } from '../../../controllers/toolservers/sandbox-command.js';
import { effectiveRuntime } from '../../../reconciler/runtime-defaults.js';
import { doc, loadSnapshot } from '../../helpers/config.js';
import { tempDir } from '../../helpers/temp.js';
import { writeFiles } from '../../helpers/git.js';
import type { RuntimeSpec } from '../../../reconciler/specs.js';

async function runtime(spec: Record<string, unknown>): Promise<RuntimeSpec> {
  const dir = tempDir('caduceus-toolserver-rt-');
  writeFiles(dir, { 'runtime.yaml': doc('Runtime', 'default', spec) });
  return effectiveRuntime(await loadSnapshot(dir));
}

describe('sandboxCommand', () => {
  it('isolates in the docker and swarm modes, on the engine the Runtime names', async () => {
    expect(isolates(await runtime({ execution: { mode: 'local' } }))).toBe(false);
    const swarm = await runtime({
      execution: { mode: 'swarm', docker: { host: 'tcp://10.0.0.5:2375' } },
      isolation: { image: 'caduceus-sandbox:latest', network: 'bridge', user: '1000:1000', readOnly: false, cpus: 0.5 },
    });
    expect(isolates(swarm)).toBe(true);
    const c = sandboxCommand('tickets', ['sh', 'tools/s.sh'], swarm, '/srv/config', { DOCKER_HOST: 'unix:///x' });
    expect(c.command).toBe('docker');
    expect(c.args.slice(0, 2)).toEqual(['--host=tcp://10.0.0.5:2375', 'run']);
    expect(c.args).toContain('--network=bridge');
    expect(c.args).toContain('--user=1000:1000');
    expect(c.args).toContain('--cpus=0.5');
    expect(c.args).not.toContain('--read-only');
    expect(c.args).toContain('--volume=/srv/config:/config:ro');
    expect(c.args.slice(-3)).toEqual(['caduceus-sandbox:latest', 'sh', 'tools/s.sh']);
    // The Runtime's engine wins over the process's DOCKER_HOST.
    expect(c.env).toEqual({});
    const local = await runtime({ execution: { mode: 'docker' } });
    expect(sandboxCommand('t', ['x'], local, undefined, { DOCKER_HOST: 'unix:///x', HOME: '/h' }).env).toEqual({
      DOCKER_HOST: 'unix:///x',
    });
  });

  it('refuses an engine reached with certificates, which the docker CLI is not given', async () => {
    const ref = { valueFrom: { env: 'CADUCEUS_TS_TEST_PEM' } };
    const tls = await runtime({
      execution: { mode: 'docker', docker: { host: 'tcp://10.0.0.5:2376', tls: { ca: ref, cert: ref, key: ref } } },
    });
    expect(() => sandboxCommand('t', ['x'], tls, undefined)).toThrow(
      expect.objectContaining({ code: 'ToolServerEngineUnsupported' }),
    );
  });
});
