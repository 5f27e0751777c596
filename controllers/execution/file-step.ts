// The `file` step: read, write or append one file inside the run's workspace. The path
// guard (workspace.ts) rejects absolute paths, `..` and symlinks that lead outside; this
// file refuses anything but a regular file (a FIFO, socket or device could block a read
// forever or stream without end) and opens with O_NONBLOCK, so no step can freeze the
// daemon's event loop: reads and large writes go through the thread pool, a write of up
// to 64 KiB is done synchronously (SYNC_WRITE_BYTES).

import { closeSync, constants, fstatSync, openSync, statSync, writeSync } from 'node:fs';
import { chmod, mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname } from 'node:path';
import type { FileStep } from '../../reconciler/specs.js';
import { CaduceusError } from '../../reconciler/errors.js';
import { interpolate, type Scope } from './interpolate.js';
import { inspectInWorkspace } from '../../reconciler/workspace.js';

export async function runFileStep(
  step: FileStep,
  scope: Scope,
  workspace: string,
  outputLimitBytes: number,
  shareMode: boolean,
): Promise<string> {
  const rel = interpolate(step.path, scope, (s) => s, 'file.path');
  const checked = inspectInWorkspace(workspace, rel, 'file.path');
  const path = checked.path;
  if (step.action === 'read') return readTail(path, rel, outputLimitBytes);
  const content = interpolate(step.content ?? '', scope, (s) => s, 'file.content');
  // The guard's walk has seen whether the directory is there: no mkdir round trip if so.
  const firstNewDir = checked.parentIsDirectory ? undefined : await mkdir(dirname(path), { recursive: true });
  // O_TRUNC only takes effect on a regular file, which is all openRegular lets through.
  const flags =
    constants.O_WRONLY | constants.O_CREAT | (step.action === 'append' ? constants.O_APPEND : constants.O_TRUNC);
  const seen = checked.existing ?? (checked.missing ? null : undefined);
  if (Buffer.byteLength(content) <= SYNC_WRITE_BYTES) writeRegularSync(path, rel, flags, content, seen);
  else {
    const fh = await openRegular(path, rel, flags, seen);
    try {
      await fh.writeFile(content);
    } finally {
      await fh.close();
    }
  }
  // A container user (docker mode) must be able to change what the host wrote.
  if (shareMode) {
    await chmod(path, 0o666);
    if (firstNewDir) await openUp(firstNewDir, dirname(path));
  }
  return content;
}

/** The last `limit` bytes of a regular file, without reading a huge file whole. */
async function readTail(path: string, rel: string, limit: number): Promise<string> {
  const fh = await openRegular(path, rel, constants.O_RDONLY);
  try {
    const st = await fh.stat();
    const len = Math.min(st.size, limit);
    const buf = Buffer.alloc(len);
    const { bytesRead } = await fh.read(buf, 0, len, st.size - len);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * Opens a regular file, or refuses: the type is checked before the open (opening a FIFO
 * or a device can block or have effects) and again on the open descriptor (the path may
 * have been swapped in between). O_NONBLOCK makes even that open return at once.
 */
async function openRegular(path: string, rel: string, flags: number, seen?: Stats | null): Promise<FileHandle> {
  // `seen`: the guard's lstat of the path (not a symlink), or null when it found nothing
  // there; either way no second look is needed before the open. A symlink is looked at.
  const before =
    seen !== undefined
      ? (seen ?? undefined)
      : await stat(path).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
          if (!(flags & constants.O_CREAT))
            throw new CaduceusError('FileNotFound', `file path "${rel}" does not exist in the workspace`, {
              field: 'file.path',
              hint: 'an earlier step must write it first',
            });
          return undefined;
        });
  if (before) refuseUnlessRegular(before, rel);
  const fh = await open(path, flags | OPEN_FLAGS, 0o644).catch((err: unknown) => {
    throw openFailure(err, rel);
  });
  try {
    refuseUnlessRegular(await fh.stat(), rel);
  } catch (err) {
    await fh.close();
    throw err;
  }
  return fh;
}

/**
 * Content up to this size is written synchronously: open, fstat, write and close of a few
 * KiB take microseconds, where each of them through the thread pool is a round trip that
 * costs far more on an idle machine (a skill run right after a model's answer: 2.1 ms a
 * run against 0.8 ms back to back, four of those round trips per file step).
 */
const SYNC_WRITE_BYTES = 64 * 1024;

/**
 * openRegular's checks, synchronously, and the whole write. The open cannot block: it has
 * O_NONBLOCK, and a FIFO or device is refused before (by type) or after it (on the
 * descriptor); a write to a regular file does not wait on anyone.
 */
function writeRegularSync(path: string, rel: string, flags: number, content: string, seen?: Stats | null): void {
  let before: Stats | undefined;
  if (seen !== undefined) before = seen ?? undefined;
  else {
    try {
      before = statSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  if (before) refuseUnlessRegular(before, rel);
  let fd: number;
  try {
    fd = openSync(path, flags | OPEN_FLAGS, 0o644);
  } catch (err) {
    throw openFailure(err, rel);
  }
  try {
    refuseUnlessRegular(fstatSync(fd), rel);
    const bytes = Buffer.from(content);
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
  } finally {
    closeSync(fd);
  }
}

/** Every open of a step's file: it cannot block (a FIFO without a writer) or take a terminal. */
const OPEN_FLAGS = constants.O_NONBLOCK | constants.O_NOCTTY;

/** An open that failed because the path is a FIFO or socket (ENXIO) says so; other errors pass. */
function openFailure(err: unknown, rel: string): unknown {
  return (err as NodeJS.ErrnoException).code === 'ENXIO' ? notRegular(rel, 'a FIFO or socket') : err;
}

function refuseUnlessRegular(st: Stats, rel: string): void {
  if (st.isFile()) return;
  if (st.isDirectory())
    throw new CaduceusError('NotARegularFile', `file path "${rel}" is a directory`, {
      field: 'file.path',
      hint: 'name a file inside it',
    });
  const what = st.isFIFO()
    ? 'a FIFO'
    : st.isSocket()
      ? 'a socket'
      : st.isCharacterDevice() || st.isBlockDevice()
        ? 'a device'
        : 'not a regular file';
  throw notRegular(rel, what);
}

function notRegular(rel: string, what: string): CaduceusError {
  return new CaduceusError(
    'NotARegularFile',
    `file path "${rel}" is ${what}; file steps read and write regular files only`,
    {
      field: 'file.path',
    },
  );
}

/** chmod 0777 on every directory from `from` down to `to`, all created by this step. */
async function openUp(from: string, to: string): Promise<void> {
  for (let d = to; d.length >= from.length; d = dirname(d)) {
    await chmod(d, 0o777);
    if (d === from) break;
  }
}
