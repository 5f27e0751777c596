import { describe, it, expect } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { buildSandboxImage, isStaticElf } from '../../../controllers/execution/sandbox-image.js';
import { sweepWorkspaces } from '../../../reconciler/workspace.js';
import { dockerReady, runDockerTests } from './docker-env.js';
import { tempDir } from '../../helpers/temp.js';

const ready = await dockerReady();

describe('static busybox detection', () => {
  it('tells a static binary from a dynamically linked one', () => {
    const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
    if (busybox) expect(isStaticElf(busybox)).toBe(true);
    expect(isStaticElf('/bin/ls')).toBe(false);
    expect(isStaticElf('/etc/passwd')).toBe(false);
  });
});

describe('workspace sweep', () => {
  it('removes kept workspaces older than a day and leaves recent ones', () => {
    const stateDir = tempDir('caduceus-sweep-');
    const old = join(stateDir, 'workspaces', 'old-run');
    const recent = join(stateDir, 'workspaces', 'recent-run');
    mkdirSync(old, { recursive: true });
    mkdirSync(recent, { recursive: true });
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    expect(sweepWorkspaces(stateDir)).toBe(1);
    expect(readdirSync(join(stateDir, 'workspaces'))).toEqual(['recent-run']);
  });
});

describe.runIf(runDockerTests(ready))('caduceus sandbox build', () => {
  it('builds a busybox image that runs sh as nobody, under another tag', async () => {
    const tag = `caduceus-sandbox-test:${process.pid}`;
    const docker = new Docker();
    try {
      const id = await buildSandboxImage({ tag, docker });
      expect(id).toMatch(/^sha256:/);
      const out = execFileSync(
        'docker',
        [
          'run',
          '--rm',
          '--network',
          'none',
          '--user',
          '65534:65534',
          tag,
          'sh',
          '-c',
          'id -un; ls /bin/sh; echo $PATH; pwd',
        ],
        { encoding: 'utf8' },
      );
      expect(out.trim().split('\n')).toEqual([
        'nobody',
        '/bin/sh',
        '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
        '/workspace',
      ]);
      const info = await docker.getImage(tag).inspect();
      expect(info.Config.Labels).toMatchObject({ 'caduceus.managed': 'true' });
    } finally {
      await docker
        .getImage(tag)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  it('answers --help and refuses an unknown subcommand through the CLI', () => {
    const cli = join(process.cwd(), 'dist/app/cli.js');
    if (!existsSync(cli)) execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'ignore' });
    const help = spawnSync('node', [cli, 'sandbox', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('caduceus sandbox build');
    const bad = spawnSync('node', [cli, 'sandbox', 'explode'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
  });
});
