// The git source against real repositories in temp dirs: a local repository followed by
// its ref watcher, a bare remote mirrored over file://, and the --worktree dev mode.

import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSource, readRevision, type Source } from '../../reconciler/source/git-source.js';
import { RemoteSource, mirrorDir } from '../../reconciler/source/remote-source.js';
import { gitBlobId } from '../../reconciler/source-file.js';
import { BlobReader } from '../../reconciler/source/blob-reader.js';
import { silentLogger } from '../../reconciler/log.js';
import { CaduceusError } from '../../reconciler/errors.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { commitAll, git, GIT_ENV, makeRemote, makeRepo, removeFiles, writeFiles } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const execFileAsync = promisify(execFile);
const sources: Source[] = [];
afterEach(async () => {
  for (const s of sources.splice(0)) await s.stop();
});

function track<S extends Source>(s: S): S {
  sources.push(s);
  return s;
}

function local(repo: string, extra: { path?: string; branch?: string; worktree?: boolean } = {}): Source {
  return track(createSource({ repo, stateDir: tempDir(), log: silentLogger, ...extra }));
}

async function contents(src: Source): Promise<Record<string, string>> {
  const rev = await src.current();
  const out: Record<string, string> = {};
  for (const f of rev.files) out[f.path] = (await f.read()).toString();
  return out;
}

describe('local repository source', () => {
  it('sees a new commit through the ref watcher, long before the safety poll', async () => {
    const repo = makeRepo({ 'a.yaml': 'a: 1\n' });
    const src = local(repo);
    let changes = 0;
    await src.start(() => changes++);
    const first = await src.current();
    expect(first.id).toBe(git(repo, 'rev-parse', 'HEAD'));

    writeFiles(repo, { 'b.yaml': 'b: 2\n' });
    const head = commitAll(repo, 'add b');
    // The safety poll runs every 30 s: seeing the commit within 5 s proves the watcher.
    await waitFor(async () => changes > 0 && (await src.current()).id === head, 5000, 'the new commit');
    expect(await contents(src)).toEqual({ 'a.yaml': 'a: 1\n', 'b.yaml': 'b: 2\n' });
    expect(src.status()).toMatchObject({ mode: 'local', branch: 'main', fetchErrors: 0, revision: head });
  });

  it('sees the last of several commits made in quick succession', async () => {
    const repo = makeRepo({ 'a.yaml': 'a: 0\n' });
    const src = local(repo);
    await src.current();
    // What the source says each time the watcher calls: nothing else reads it here.
    const seen: string[] = [];
    await src.start(() => void src.current().then((r) => seen.push(r.id)));
    // Asynchronous commits leave the event loop free between them, as a script's would.
    for (let i = 1; i <= 8; i++) {
      writeFiles(repo, { 'a.yaml': `a: ${i}\n` });
      await execFileAsync('git', ['commit', '-q', '-am', `quick ${i}`], { cwd: repo, env: GIT_ENV });
    }
    const head = git(repo, 'rev-parse', 'HEAD');
    await waitFor(() => seen.includes(head), 5000, 'the last quick commit');
  });

  it('follows a bare repository on disk that is pushed to', async () => {
    const { bare, clone } = makeRemote({ 'a.yaml': 'a: 1\n' });
    const src = local(bare);
    let changes = 0;
    await src.start(() => changes++);
    writeFiles(clone, { 'a.yaml': 'a: 2\n' });
    const head = commitAll(clone, 'pushed');
    git(clone, 'push', '-q', 'origin', 'main');
    await waitFor(async () => changes > 0 && (await src.current()).id === head, 5000, 'the pushed commit');
    expect(await contents(src)).toEqual({ 'a.yaml': 'a: 2\n' });
  });

  it('follows the branch checked out in a linked worktree (git worktree add)', async () => {
    const repo = makeRepo({ 'a.yaml': 'a: 1\n' });
    const wt = join(tempDir(), 'wt');
    git(repo, 'worktree', 'add', '-q', '-b', 'feature', wt);
    const src = local(wt);
    let changes = 0;
    await src.start(() => changes++);
    expect(src.status().branch).toBe('feature');
    writeFiles(wt, { 'a.yaml': 'a: feature\n' });
    const head = commitAll(wt, 'on feature');
    await waitFor(async () => changes > 0 && (await src.current()).id === head, 5000, 'the worktree commit');
    writeFiles(repo, { 'a.yaml': 'a: main\n' });
    commitAll(repo, 'on main');
    expect((await src.current()).id).toBe(head);
  });

  it('reads only *.yaml and *.yml under the sub-path, with paths relative to it', async () => {
    const repo = makeRepo({
      'README.md': '# hi\n',
      'other/x.yaml': 'x: 1\n',
      'config/skills/a.yaml': 'a: 1\n',
      'config/tasks/t.yml': 't: 1\n',
      'config/notes.txt': 'no\n',
    });
    const src = local(repo, { path: './config/' });
    expect(await contents(src)).toEqual({ 'skills/a.yaml': 'a: 1\n', 'tasks/t.yml': 't: 1\n' });
    // A commit without the path is a revision the loop rejects, never an empty one; at start it is an error.
    await expect(local(repo, { path: 'nope' }).current()).resolves.toMatchObject({ files: [], missingPath: 'nope' });
    await expect(local(repo, { path: 'nope' }).start(() => undefined)).rejects.toMatchObject({
      code: 'GitPathNotFound',
    });
  });

  it('follows the named branch and ignores commits on others', async () => {
    const repo = makeRepo({ 'a.yaml': 'v: main\n' });
    git(repo, 'branch', 'release');
    const src = local(repo, { branch: 'release' });
    let changes = 0;
    await src.start(() => changes++);
    const releaseTip = git(repo, 'rev-parse', 'release');

    writeFiles(repo, { 'a.yaml': 'v: main-2\n' });
    commitAll(repo, 'on main');
    expect((await src.current()).id).toBe(releaseTip);

    git(repo, 'switch', '-q', 'release');
    writeFiles(repo, { 'a.yaml': 'v: release-2\n' });
    const head = commitAll(repo, 'on release');
    await waitFor(async () => (await src.current()).id === head, 5000, 'the release commit');
    expect(await contents(src)).toEqual({ 'a.yaml': 'v: release-2\n' });
    // current() reads the branch itself, so it can see the commit before the watcher tells.
    await waitFor(() => changes > 0, 5000, 'the watcher reporting the release commit');
  });

  it('gives a clear error for a missing branch or repository', async () => {
    const repo = makeRepo({ 'a.yaml': 'a: 1\n' });
    const missingBranch = local(repo, { branch: 'nope' });
    await expect(missingBranch.start(() => undefined)).rejects.toMatchObject({
      code: 'GitBranchNotFound',
      message: expect.stringContaining('"nope"'),
    });
    await expect(local(join(tempDir(), 'absent')).current()).rejects.toMatchObject({ code: 'GitRepoNotFound' });
    await expect(local(tempDir()).current()).rejects.toMatchObject({
      code: 'GitRepoNotFound',
      hint: expect.stringContaining('git init'),
    });
    const err = await local(makeRepo())
      .current()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaduceusError);
    expect((err as CaduceusError).code).toBe('GitNoCommits');
  });

  it('keeps working after git pack-refs and sees a ref that changes only in packed-refs', async () => {
    const repo = makeRepo({ 'a.yaml': 'a: 1\n' });
    const src = local(repo);
    await src.start(() => undefined);
    const head1 = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'pack-refs', '--all');
    expect(existsSync(join(repo, '.git', 'refs', 'heads', 'main'))).toBe(false);
    expect((await src.current()).id).toBe(head1);

    // A commit after packing writes a loose ref again.
    writeFiles(repo, { 'a.yaml': 'a: 2\n' });
    const head2 = commitAll(repo, 'after pack');
    await waitFor(async () => (await src.current()).id === head2, 5000, 'the commit after pack-refs');

    // A ref that moves inside packed-refs only (as a fetch into packed refs does).
    git(repo, 'pack-refs', '--all');
    const tree = git(repo, 'rev-parse', 'HEAD^{tree}');
    const head3 = git(repo, 'commit-tree', tree, '-p', head2, '-m', 'packed only');
    const packed = join(repo, '.git', 'packed-refs');
    const { readFileSync } = await import('node:fs');
    writeFileSync(`${packed}.new`, readFileSync(packed, 'utf8').replace(head2, head3));
    renameSync(`${packed}.new`, packed);
    await waitFor(async () => (await src.current()).id === head3, 5000, 'the packed-only ref change');
  });

  it('gives unchanged files the same id and changed files a new one (the blob SHA)', async () => {
    const repo = makeRepo({ 'a.yaml': 'a: 1\n', 'b.yaml': 'b: 1\n' });
    const src = local(repo);
    const before = new Map((await src.current()).files.map((f) => [f.path, f.id]));
    writeFiles(repo, { 'b.yaml': 'b: 2\n' });
    commitAll(repo, 'change b');
    const after = new Map((await src.current()).files.map((f) => [f.path, f.id]));
    expect(after.get('a.yaml')).toBe(before.get('a.yaml'));
    expect(after.get('b.yaml')).not.toBe(before.get('b.yaml'));
    expect(after.get('b.yaml')).toBe(git(repo, 'rev-parse', 'HEAD:b.yaml'));
  });

  it('lists the same files incrementally (diff against the last commit) as from scratch', async () => {
    const repo = makeRepo({
      'cfg/a.yaml': 'a: 1\n',
      'cfg/b.yml': 'b: 1\n',
      'cfg/deep/c.yaml': 'c: 1\n',
      'cfg2/x.yaml': 'x: 1\n',
      'top.yaml': 't: 1\n',
    });
    const src = local(repo, { path: 'cfg' });
    await src.current();
    const steps: Array<() => void> = [
      () => writeFiles(repo, { 'cfg/a.yaml': 'a: 2\n', 'cfg/new.yaml': 'n: 1\n', 'cfg/readme.md': 'no\n' }),
      () => removeFiles(repo, 'cfg/b.yml', 'cfg/deep'),
      () => writeFiles(repo, { 'cfg2/x.yaml': 'x: 2\n', 'top.yaml': 't: 2\n', 'cfg/0-first.yaml': 'f: 1\n' }),
      () => {
        removeFiles(repo, 'cfg/new.yaml');
        symlinkSync('a.yaml', join(repo, 'cfg', 'link.yaml')); // a symlink is not read, even to YAML
      },
    ];
    for (const step of steps) {
      step();
      const head = commitAll(repo, 'step');
      const incremental = await src.current();
      const full = await readRevision(repo, head, 'cfg');
      expect(incremental.id).toBe(head);
      expect(incremental.files.map((f) => [f.path, f.id])).toEqual(full.files.map((f) => [f.path, f.id]));
    }
    expect(git(repo, 'ls-tree', 'HEAD', 'cfg/link.yaml')).toMatch(/^120000 /);
    expect((await src.current()).files.map((f) => f.path)).toEqual(['0-first.yaml', 'a.yaml']);
  });

  it('reads the commit, never uncommitted edits of the working tree', async () => {
    const repo = makeRepo({ 'a.yaml': 'a: committed\n' });
    writeFiles(repo, { 'a.yaml': 'a: half-edited\n', 'new.yaml': 'n: 1\n' });
    git(repo, 'add', 'new.yaml'); // staged is not committed either
    expect(await contents(local(repo))).toEqual({ 'a.yaml': 'a: committed\n' });
  });

  it('accepts a directory inside the work tree as the repository', async () => {
    const repo = makeRepo({ 'cfg/a.yaml': 'a: 1\n', 'b.yaml': 'b: 1\n' });
    expect(await contents(local(join(repo, 'cfg')))).toEqual({ 'a.yaml': 'a: 1\n' });
  });

  it('reads any revision for plan --rev, and names a missing one', async () => {
    const repo = makeRepo({ 'c/a.yaml': 'a: 1\n' });
    const first = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'tag', 'v1');
    writeFiles(repo, { 'c/a.yaml': 'a: 2\n' });
    commitAll(repo, 'second');
    const rev = await readRevision(repo, 'v1', 'c');
    expect(rev.id).toBe(first);
    expect((await rev.files[0]?.read())?.toString()).toBe('a: 1\n');
    expect((await readRevision(repo, first.slice(0, 10))).files.map((f) => f.path)).toEqual(['c/a.yaml']);
    await expect(readRevision(repo, 'no-such-rev')).rejects.toMatchObject({ code: 'GitRevisionNotFound' });
  });
});

describe('blob reader (one git cat-file --batch process)', () => {
  it('answers many concurrent reads in order, reports a missing object and keeps going', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 200; i++) files[`f${i}.yaml`] = `n: ${i}\n${'x'.repeat(i * 97)}\n`;
    files['big.yaml'] = 'y'.repeat(3 * 1024 * 1024);
    const repo = makeRepo(files);
    const reader = new BlobReader(repo);
    try {
      const names = Object.keys(files);
      const shas = names.map((n) => git(repo, 'rev-parse', `HEAD:${n}`));
      const missing = reader.read('0'.repeat(40)).catch((e: unknown) => e);
      const all = await Promise.all(shas.map((sha) => reader.read(sha)));
      expect(all.map((b) => b.toString())).toEqual(names.map((n) => files[n]));
      expect(await missing).toMatchObject({ code: 'GitObjectMissing' });
      expect((await reader.read(shas[1] as string)).toString()).toBe(files['f1.yaml']);
    } finally {
      reader.close();
    }
  });
});

describe('remote repository source', () => {
  it('mirrors a file:// remote shallowly, fetches new commits and follows a force-push', async () => {
    const { bare, clone } = makeRemote({ 'skills/a.yaml': 'a: 1\n' });
    writeFiles(clone, { 'skills/a.yaml': 'a: 2\n' });
    commitAll(clone, 'second');
    git(clone, 'push', '-q', 'origin', 'main');
    const stateDir = tempDir();
    const url = `file://${bare}`;
    const src = track(createSource({ repo: url, stateDir, log: silentLogger, interval: 600_000 }));
    let changes = 0;
    expect((await src.current()).id).toBe(git(clone, 'rev-parse', 'HEAD'));
    await src.start(() => changes++);
    const mirror = mirrorDir(stateDir, url);
    expect(git(mirror, 'rev-parse', '--is-shallow-repository')).toBe('true');
    expect(git(mirror, 'rev-list', '--count', 'refs/caduceus/tip')).toBe('1');

    writeFiles(clone, { 'skills/b.yaml': 'b: 1\n' });
    const head = commitAll(clone, 'add b');
    git(clone, 'push', '-q', 'origin', 'main');
    await src.fetchNow();
    expect(changes).toBe(1);
    expect(await contents(src)).toEqual({ 'skills/a.yaml': 'a: 2\n', 'skills/b.yaml': 'b: 1\n' });
    expect(src.status()).toMatchObject({ mode: 'remote', repo: url, fetchErrors: 0, revision: head });
    expect(Date.parse(String(src.status().lastFetchAt))).toBeGreaterThan(Date.now() - 600_000);

    git(clone, 'reset', '-q', '--hard', 'HEAD~2');
    writeFiles(clone, { 'skills/a.yaml': 'a: rewritten\n' });
    git(clone, 'commit', '-q', '-am', 'rewrite');
    git(clone, 'push', '-q', '--force', 'origin', 'main');
    const rewritten = git(clone, 'rev-parse', 'HEAD');
    await src.fetchNow();
    expect((await src.current()).id).toBe(rewritten);
    expect(await contents(src)).toEqual({ 'skills/a.yaml': 'a: rewritten\n' });
  });

  it('records an unreachable remote, keeps the last revision and recovers with backoff', async () => {
    const { bare, clone } = makeRemote({ 'a.yaml': 'a: 1\n' });
    const src = track(
      new RemoteSource({
        url: `file://${bare}`,
        stateDir: tempDir(),
        log: silentLogger,
        interval: 600_000,
        retryBaseMs: 50,
      }),
    );
    const head = git(clone, 'rev-parse', 'HEAD');
    expect((await src.current()).id).toBe(head);
    let changes = 0;
    await src.start(() => changes++);

    renameSync(bare, `${bare}-gone`);
    await expect(src.fetchNow()).rejects.toMatchObject({ code: 'GitFetchFailed' });
    expect(src.status().fetchErrors).toBe(1);
    expect(src.status().lastFetchError).toContain('fetching file://');
    expect((await src.current()).id).toBe(head);

    // Backoff retries on its own (50 ms, 100 ms, …) without waiting for the 10-minute interval.
    await waitFor(() => src.status().fetchErrors >= 3, 5000, 'retries with backoff');
    writeFiles(clone, { 'a.yaml': 'a: 2\n' });
    const next = commitAll(clone, 'while down');
    renameSync(`${bare}-gone`, bare);
    git(clone, 'push', '-q', 'origin', 'main');
    await waitFor(() => src.status().fetchErrors === 0 && changes > 0, 10_000, 'recovery');
    expect(src.status().lastFetchError).toBeUndefined();
    expect((await src.current()).id).toBe(next);
  });

  it('never shows credentials of the URL in status or errors', async () => {
    const url = 'https://robot:s3cr3t-t0ken@127.0.0.1:9/config.git';
    const src = track(createSource({ repo: url, stateDir: tempDir(), log: silentLogger }));
    const err = await src.current().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaduceusError);
    expect(String((err as Error).message)).not.toContain('s3cr3t');
    expect(JSON.stringify(src.status())).not.toContain('s3cr3t');
    expect(src.status().repo).toBe('https://***@127.0.0.1:9/config.git');
    expect(src.status().fetchErrors).toBe(1);
  });

  it('names a missing remote branch', async () => {
    const { bare } = makeRemote({ 'a.yaml': 'a: 1\n' });
    const src = track(createSource({ repo: `file://${bare}`, branch: 'nope', stateDir: tempDir(), log: silentLogger }));
    await expect(src.current()).rejects.toMatchObject({ code: 'GitBranchNotFound' });
  });

  it('starts from the revision an earlier run fetched when the remote is down', async () => {
    const { bare, clone } = makeRemote({ 'a.yaml': 'a: 1\n' });
    const stateDir = tempDir();
    const url = `file://${bare}`;
    const first = track(createSource({ repo: url, stateDir, log: silentLogger }));
    await first.current();
    await first.stop();
    rmSync(bare, { recursive: true });
    const second = track(createSource({ repo: url, stateDir, log: silentLogger }));
    expect((await second.current()).id).toBe(git(clone, 'rev-parse', 'HEAD'));
    expect(second.status().fetchErrors).toBe(1);
  });
});

describe('worktree source (dev mode)', () => {
  it('applies uncommitted edits, debounced, with blob SHAs as ids', async () => {
    const repo = makeRepo({ 'cfg/a.yaml': 'a: 1\n' });
    const src = local(repo, { worktree: true, path: 'cfg' });
    const first = await src.current();
    expect(first.id).toMatch(/^worktree:[0-9a-f]{16}$/);
    expect(first.files[0]?.id).toBe(git(repo, 'rev-parse', 'HEAD:cfg/a.yaml'));
    let changes = 0;
    await src.start(() => changes++);

    // A burst of edits, as an editor saving several files, gives one change.
    for (let i = 0; i < 5; i++) writeFiles(repo, { [`cfg/b${i}.yaml`]: `b: ${i}\n` });
    writeFiles(repo, { 'cfg/notes.txt': 'ignored\n' });
    await waitFor(() => changes > 0, 5000, 'the debounced change');
    await new Promise((r) => setTimeout(r, 400));
    expect(changes).toBe(1);
    const rev = await src.current();
    expect(rev.id).not.toBe(first.id);
    expect(rev.files.map((f) => f.path)).toEqual(['a.yaml', 'b0.yaml', 'b1.yaml', 'b2.yaml', 'b3.yaml', 'b4.yaml']);
    expect(rev.files.find((f) => f.path === 'a.yaml')?.id).toBe(first.files[0]?.id);
    expect(rev.files.find((f) => f.path === 'b3.yaml')?.id).toBe(gitBlobId(Buffer.from('b: 3\n')));

    removeFiles(repo, 'cfg/b0.yaml');
    unlinkSync(join(repo, 'cfg', 'b1.yaml'));
    await waitFor(async () => (await src.current()).files.length === 4, 5000, 'the deletions');
  });
});
