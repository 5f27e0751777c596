// The `file` step: read, write or append one file inside the run's workspace. The path
// guard (workspace.ts) rejects absolute paths, `..` and symlinks that lead outside.

import { appendFileSync, mkdirSync, openSync, readSync, closeSync, fstatSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FileStep } from '../../reconciler/specs.js';
import { interpolate, type Scope } from './interpolate.js';
import { resolveInWorkspace } from '../../reconciler/workspace.js';

export function runFileStep(
  step: FileStep,
  scope: Scope,
  workspace: string,
  outputLimitBytes: number,
  shareMode: boolean,
): string {
  const rel = interpolate(step.path, scope, (s) => s, 'file.path');
  const path = resolveInWorkspace(workspace, rel, 'file.path');
  if (step.action === 'read') return readTail(path, outputLimitBytes);
  const content = interpolate(step.content ?? '', scope, (s) => s, 'file.content');
  const firstNewDir = mkdirSync(dirname(path), { recursive: true });
  if (step.action === 'write') writeFileSync(path, content);
  else appendFileSync(path, content);
  // A container user (docker mode) must be able to change what the host wrote.
  if (shareMode) {
    chmodSync(path, 0o666);
    if (firstNewDir) openUp(firstNewDir, dirname(path));
  }
  return content;
}

/** The last `limit` bytes of a file, without reading a huge file whole. */
function readTail(path: string, limit: number): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, limit);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** chmod 0777 on every directory from `from` down to `to`, all created by this step. */
function openUp(from: string, to: string): void {
  for (let d = to; d.length >= from.length; d = dirname(d)) {
    chmodSync(d, 0o777);
    if (d === from) break;
  }
}
