// Builds the local sandbox image (default caduceus-sandbox:latest) without a registry:
// a rootfs holding Debian's static busybox with its applet links, /tmp, a `nobody` user
// and /workspace, streamed as a tar into `docker import` through dockerode.

import { spawn, execFile } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { CaduceusError } from '../../reconciler/errors.js';
import { connectDocker, dockerError, LABEL_MANAGED } from './docker-backend.js';
import { aptInstall } from './prerequisites.js';
import { SANDBOX_IMAGE } from './runtime-config.js';

const run = promisify(execFile);
const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

/** True when the ELF file has no PT_INTERP program header, i.e. needs no dynamic loader. */
export function isStaticElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(64);
    if (readSync(fd, head, 0, 64, 0) < 64 || head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2) return false;
    const phoff = Number(head.readBigUInt64LE(32));
    const phentsize = head.readUInt16LE(54);
    const phnum = head.readUInt16LE(56);
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === 3) return false; // PT_INTERP
    return true;
  } finally {
    closeSync(fd);
  }
}

function findStaticBusybox(): string | undefined {
  return BUSYBOX_CANDIDATES.find((p) => existsSync(p) && isStaticElf(p));
}

/** A static busybox, installing busybox-static with apt-get when none is there. */
export async function ensureStaticBusybox(log: (line: string) => void): Promise<string> {
  const found = findStaticBusybox();
  if (found) return found;
  log('no static busybox found: apt-get install -y busybox-static');
  const res = await aptInstall(['busybox-static']);
  const after = findStaticBusybox();
  if (!after) {
    throw new CaduceusError(
      'BusyboxMissing',
      `could not install busybox-static: ${res.output.trim().split('\n').slice(-3).join(' | ')}`,
      {
        hint:
          "install Debian's busybox-static (as root: apt-get install -y busybox-static) " +
          'and run `caduceus sandbox build` again',
      },
    );
  }
  return after;
}

/** Lays out the rootfs in a fresh temp directory and returns its path. */
export async function makeRootfs(busybox: string): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'caduceus-rootfs-'));
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'workspace', 'config', 'root'])
    mkdirSync(join(root, d), { recursive: true });
  mkdirSync(join(root, 'tmp'));
  chmodSync(join(root, 'tmp'), 0o1777);
  chmodSync(join(root, 'workspace'), 0o777);
  copyFileSync(busybox, join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  const { stdout } = await run(busybox, ['--list-full']);
  for (const applet of stdout
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (applet === 'bin/busybox') continue;
    const target = join(root, applet);
    if (existsSync(target)) continue;
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync('/bin/busybox', target);
  }
  writeFileSync(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  return root;
}

/** Builds the image from the rootfs; returns its id. Replaces an existing tag. */
export async function buildSandboxImage(
  opts: { tag?: string; docker?: Docker; log?: (line: string) => void } = {},
): Promise<string> {
  const tag = opts.tag ?? SANDBOX_IMAGE;
  const log = opts.log ?? (() => undefined);
  const docker = opts.docker ?? connectDocker();
  try {
    await docker.ping();
  } catch (err) {
    throw dockerError(err);
  }
  const busybox = await ensureStaticBusybox(log);
  const root = await makeRootfs(busybox);
  try {
    const [repo, version] = splitTag(tag);
    const tar = spawn('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '-c', '.'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tarErr = '';
    tar.stderr.on('data', (c: Buffer) => (tarErr += c.toString()));
    const tarDone = new Promise<number>((resolve) => tar.on('close', (code) => resolve(code ?? 1)));
    log(`docker import ${tag} (busybox from ${busybox})`);
    const changes = [
      'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
      'WORKDIR /workspace',
      `LABEL ${LABEL_MANAGED}=true`,
      'CMD ["/bin/sh"]',
    ];
    const progress = await docker.importImage(tar.stdout, { repo, tag: version, changes } as object);
    const answer = await readAll(progress);
    if ((await tarDone) !== 0) throw new CaduceusError('SandboxBuildFailed', `tar failed: ${tarErr.trim()}`);
    const error = answer.match(/"error(?:Detail)?"\s*:\s*"([^"]+)"/);
    if (error) throw new CaduceusError('SandboxBuildFailed', `docker import failed: ${error[1]}`);
    const info = await docker.getImage(tag).inspect();
    return info.Id;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function splitTag(tag: string): [string, string] {
  const slash = tag.lastIndexOf('/');
  const colon = tag.lastIndexOf(':');
  return colon > slash ? [tag.slice(0, colon), tag.slice(colon + 1)] : [tag, 'latest'];
}

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (c: Buffer | string) => (text += c.toString()));
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}
