// Run workspaces on a real file system: where they are made, sharing with a container
// user, removal and the start-up sweep of old ones, and the confinement of file paths
// (absolute paths, `..`, and symlinks that lead out, for existing and new files alike).

import {
  existsSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaduceusError } from '../../reconciler/errors.js';
import {
  KEEP_FAILED_MS,
  createWorkspace,
  removeWorkspace,
  resolveInWorkspace,
  inspectInWorkspace,
  shareWorkspaceWith,
  sweepWorkspaces,
  workspacesRoot,
} from '../../reconciler/workspace.js';
import { tempDir } from '../helpers/temp.js';

/** The error resolveInWorkspace throws for `rel`, checked to be PathOutsideWorkspace. */
function refusal(ws: string, rel: string, field?: string): CaduceusError {
  try {
    resolveInWorkspace(ws, rel, field);
  } catch (e) {
    expect(e).toBeInstanceOf(CaduceusError);
    expect((e as CaduceusError).code).toBe('PathOutsideWorkspace');
    return e as CaduceusError;
  }
  throw new Error(`"${rel}" was accepted`);
}

describe('workspace directories', () => {
  it('creates <stateDir>/workspaces/<runId>, parents included', () => {
    const state = join(tempDir(), 'fresh-state');
    expect(workspacesRoot(state)).toBe(join(state, 'workspaces'));
    const dir = createWorkspace(state, 'run-1');
    expect(dir).toBe(join(state, 'workspaces', 'run-1'));
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(createWorkspace(state, 'run-1')).toBe(dir);
  });

  it('removes an empty workspace, a full one, and reports a missing one as gone', () => {
    const state = tempDir();
    const empty = createWorkspace(state, 'empty');
    expect(removeWorkspace(empty)).toBe(true);
    expect(existsSync(empty)).toBe(false);
    const full = createWorkspace(state, 'full');
    mkdirSync(join(full, 'a', 'b'), { recursive: true });
    writeFileSync(join(full, 'a', 'b', 'f.txt'), 'x');
    expect(removeWorkspace(full)).toBe(true);
    expect(existsSync(full)).toBe(false);
    expect(removeWorkspace(join(state, 'never-made'))).toBe(true);
    // A path that cannot be a directory (under a file) is reported as not removed.
    writeFileSync(join(state, 'a-file'), 'x');
    expect(removeWorkspace(join(state, 'a-file', 'ws'))).toBe(false);
  });

  it('hands the workspace to a numeric container user, or opens it to everyone', () => {
    const state = tempDir();
    const a = createWorkspace(state, 'a');
    const b = createWorkspace(state, 'b');
    const c = createWorkspace(state, 'c');
    shareWorkspaceWith(a, '1234:5678');
    shareWorkspaceWith(b, '4321');
    shareWorkspaceWith(c, 'nobody');
    expect(statSync(c).mode & 0o777).toBe(0o777);
    if (process.getuid?.() === 0) {
      expect([statSync(a).uid, statSync(a).gid]).toEqual([1234, 5678]);
      expect([statSync(b).uid, statSync(b).gid]).toEqual([4321, 4321]);
      expect(statSync(a).mode & 0o777).not.toBe(0o777);
    } else {
      expect(statSync(a).mode & 0o777).toBe(0o777);
      expect(statSync(b).mode & 0o777).toBe(0o777);
    }
  });

  it('sweeps workspaces older than a day (or the given age) and counts them', () => {
    const state = tempDir();
    expect(sweepWorkspaces(state)).toBe(0);
    const now = 1_800_000_000_000;
    const at = (name: string, ms: number): void => {
      const dir = createWorkspace(state, name);
      utimesSync(dir, ms / 1000, ms / 1000);
    };
    at('old', now - KEEP_FAILED_MS - 60_000);
    at('young', now - KEEP_FAILED_MS + 60_000);
    at('exact', now - KEEP_FAILED_MS);
    symlinkSync(join(state, 'nowhere'), join(workspacesRoot(state), 'dangling'));
    expect(KEEP_FAILED_MS).toBe(86_400_000);
    expect(sweepWorkspaces(state, undefined, now)).toBe(1);
    expect(readdirSync(workspacesRoot(state)).sort()).toEqual(['dangling', 'exact', 'young']);
    expect(sweepWorkspaces(state, 30_000, now)).toBe(2);
    expect(readdirSync(workspacesRoot(state))).toEqual(['dangling']);
  });
});

describe('resolveInWorkspace', () => {
  function workspace(): { ws: string; real: string; outside: string } {
    const base = tempDir();
    const ws = join(base, 'ws');
    const outside = join(base, 'outside');
    mkdirSync(ws);
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    return { ws, real: realpathSync(ws), outside };
  }

  it('resolves relative paths, existing or not, inside the real workspace', () => {
    const { ws, real } = workspace();
    mkdirSync(join(ws, 'src'));
    writeFileSync(join(ws, 'src', 'a.ts'), '');
    writeFileSync(join(ws, '..notes'), '');
    expect(resolveInWorkspace(ws, 'src/a.ts')).toBe(join(real, 'src', 'a.ts'));
    expect(resolveInWorkspace(ws, 'src/new/deep.txt')).toBe(join(real, 'src', 'new', 'deep.txt'));
    expect(resolveInWorkspace(ws, './src/./a.ts')).toBe(join(real, 'src', 'a.ts'));
    expect(resolveInWorkspace(ws, '..notes')).toBe(join(real, '..notes'));
    expect(resolveInWorkspace(ws, 'a..b/c')).toBe(join(real, 'a..b', 'c'));
    expect(resolveInWorkspace(ws, '.')).toBe(real);
    expect(resolveInWorkspace(ws, 'xC:/y')).toBe(join(real, 'xC:', 'y'));
  });

  it('resolves through a workspace that is itself reached by a symlink', () => {
    const { ws, real } = workspace();
    const link = join(tempDir(), 'ws-link');
    symlinkSync(ws, link);
    expect(resolveInWorkspace(link, 'f.txt')).toBe(join(real, 'f.txt'));
  });

  it('refuses empty, NUL, absolute and drive-letter paths, naming the field', () => {
    const { ws } = workspace();
    const empty = refusal(ws, '');
    expect(empty.message).toBe('file path "" is empty or contains a NUL byte');
    expect(empty.field).toBe('path');
    expect(empty.hint).toBe(
      'file steps take a path relative to the run workspace, without ".." and without symlinks that lead out of it',
    );
    expect(refusal(ws, 'a\0b', 'file.path').field).toBe('file.path');
    expect(refusal(ws, 'a\0b').message).toBe('file path "a\0b" is empty or contains a NUL byte');
    expect(refusal(ws, '/etc/passwd').message).toBe('file path "/etc/passwd" is absolute');
    expect(refusal(ws, 'C:\\Windows').message).toBe('file path "C:\\Windows" is absolute');
    expect(refusal(ws, 'c:/x').message).toBe('file path "c:/x" is absolute');
  });

  it('refuses any ".." segment, with either separator', () => {
    const { ws } = workspace();
    expect(refusal(ws, '..').message).toBe('file path ".." contains ".."');
    expect(refusal(ws, 'a/../b').message).toBe('file path "a/../b" contains ".."');
    expect(refusal(ws, 'a\\..\\..\\b').message).toBe('file path "a\\..\\..\\b" contains ".."');
  });

  it('refuses existing and new files through a symlink that leads out, and dangling links', () => {
    const { ws, outside } = workspace();
    symlinkSync(join(outside, 'secret.txt'), join(ws, 'file-link'));
    symlinkSync(outside, join(ws, 'dir-link'));
    symlinkSync(join(ws, '..'), join(ws, 'up'));
    symlinkSync(join(ws, 'missing'), join(ws, 'dangling'));
    const out = 'goes through a symlink that leads out of the workspace';
    expect(refusal(ws, 'file-link').message).toBe(`file path "file-link" ${out}`);
    expect(refusal(ws, 'dir-link/secret.txt').message).toBe(`file path "dir-link/secret.txt" ${out}`);
    // A file that does not exist yet, to be written through the link.
    expect(refusal(ws, 'dir-link/new/file.txt').message).toBe(`file path "dir-link/new/file.txt" ${out}`);
    expect(refusal(ws, 'up').message).toBe(`file path "up" ${out}`);
    expect(refusal(ws, 'up/outside/x').message).toBe(`file path "up/outside/x" ${out}`);
    expect(refusal(ws, 'dangling').message).toBe('file path "dangling" goes through a dangling symlink');
    expect(refusal(ws, 'dangling/x').message).toBe('file path "dangling/x" goes through a dangling symlink');
  });

  it('tells a writer what its walk saw: the file, nothing, a symlink, the parent directory', () => {
    const { ws, real } = workspace();
    mkdirSync(join(ws, 'data'));
    writeFileSync(join(ws, 'data', 'f.txt'), 'x');
    symlinkSync(join(ws, 'data'), join(ws, 'alias'));
    symlinkSync(join(ws, 'data', 'f.txt'), join(ws, 'f-link'));
    const file = inspectInWorkspace(ws, 'data/f.txt');
    expect(file).toMatchObject({ path: join(real, 'data', 'f.txt'), missing: false, parentIsDirectory: true });
    expect(file.existing?.isFile()).toBe(true);
    expect(inspectInWorkspace(ws, 'data')).toMatchObject({ missing: false, parentIsDirectory: true });
    expect(inspectInWorkspace(ws, 'data').existing?.isDirectory()).toBe(true);
    // A symlink is reported as there but not described: its target must still be looked at.
    const link = inspectInWorkspace(ws, 'f-link');
    expect(link).toMatchObject({ missing: false, parentIsDirectory: true });
    expect(link.existing).toBeUndefined();
    expect(inspectInWorkspace(ws, 'data/new.txt')).toEqual({
      path: join(real, 'data', 'new.txt'),
      missing: true,
      parentIsDirectory: true,
    });
    // Through a symlinked directory or a missing one, the parent is made (or confirmed) by mkdir.
    expect(inspectInWorkspace(ws, 'alias/new.txt')).toMatchObject({ missing: true, parentIsDirectory: false });
    expect(inspectInWorkspace(ws, 'new/deep/x.txt')).toMatchObject({ missing: true, parentIsDirectory: false });
    // A file where the parent directory should be is not a directory.
    expect(inspectInWorkspace(ws, 'data/f.txt/x')).toMatchObject({ missing: true, parentIsDirectory: false });
  });

  it('follows symlinks that stay inside the workspace', () => {
    const { ws, real } = workspace();
    mkdirSync(join(ws, 'data'));
    symlinkSync(join(ws, 'data'), join(ws, 'alias'));
    expect(resolveInWorkspace(ws, 'alias/new.txt')).toBe(join(real, 'alias', 'new.txt'));
  });
});
