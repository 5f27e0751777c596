// Listing a commit's files from its tree objects through the cat-file process: the same
// files, ids and order as `git ls-tree -r` filtered to regular *.yaml / *.yml files, in
// SHA-1 and SHA-256 repositories, and after a commit only the directories it touched are
// read again.

import { afterEach, describe, expect, it } from 'vitest';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BlobReader } from '../../reconciler/source/blob-reader.js';
import { TreeWalker } from '../../reconciler/source/tree-walk.js';
import { commitAll, git, makeRepo, removeFiles, writeFiles } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

function reader(repo: string): BlobReader {
  const r = new BlobReader(repo);
  cleanup.push(() => {
    r.close();
    rmSync(repo, { recursive: true, force: true });
  });
  return r;
}

/** What `git ls-tree -r` says the config files under `sub` are: [path relative to sub, blob id]. */
function lsTree(repo: string, commit: string, sub: string): string[][] {
  const out = git(repo, 'ls-tree', '-r', '-z', '--full-tree', sub ? `${commit}:${sub}` : `${commit}^{tree}`);
  return out
    .split('\0')
    .filter((e) => e !== '')
    .map((e) => {
      const [meta, path] = e.split('\t') as [string, string];
      const [mode, , id] = meta.split(' ') as [string, string, string];
      return { mode, id, path };
    })
    .filter((e) => (e.mode === '100644' || e.mode === '100755') && /\.ya?ml$/i.test(e.path))
    .map((e) => [e.path, e.id])
    .sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1));
}

const FILES = {
  'cfg/a.yaml': 'a: 1\n',
  'cfg/a-b.yaml': 'ab: 1\n',
  'cfg/a/b.yaml': 'nested: 1\n',
  'cfg/z.YML': 'z: 1\n',
  'cfg/notes.txt': 'not yaml\n',
  'cfg/deep/er/still.yml': 'd: 1\n',
  'cfg/ünïcode/ñame.yaml': 'u: 1\n',
  'cfg/.hidden/h.yaml': 'h: 1\n',
  'other/o.yaml': 'o: 1\n',
  'top.yaml': 't: 1\n',
};

describe('tree walk', () => {
  for (const format of ['sha1', 'sha256'] as const) {
    it(`lists what git ls-tree lists, in path order (${format} repository)`, async () => {
      const repo = tempDir('caduceus-repo-');
      git(repo, 'init', '-q', '-b', 'main', `--object-format=${format}`);
      writeFiles(repo, FILES);
      symlinkSync('a.yaml', join(repo, 'cfg', 'link.yaml')); // a symlink is never read
      const head = commitAll(repo, 'initial');
      const walker = new TreeWalker(reader(repo));
      for (const sub of ['cfg', '']) {
        const files = await walker.list(head, sub);
        expect(files.map((f) => [f.path, f.id])).toEqual(lsTree(repo, head, sub));
      }
      const files = await walker.list(head, 'cfg');
      const a = files.find((f) => f.path === 'a/b.yaml');
      expect((await a?.read())?.toString()).toBe('nested: 1\n');
      await expect(walker.list(head, 'cfg/nope')).rejects.toMatchObject({ code: 'GitPathNotFound' });
    });
  }

  it('lists an Agent Skills folder by path: its SKILL.md and scripts/, references/, assets/ files', async () => {
    const repo = makeRepo({
      'cfg/skills/pdf/SKILL.md': '---\nname: pdf\n---\n',
      'cfg/skills/pdf/scripts/collect.sh': 'echo\n',
      'cfg/skills/pdf/scripts/lib/util.py': 'pass\n',
      'cfg/skills/pdf/references/format.md': '# f\n',
      'cfg/skills/pdf/assets/logo.png': 'png',
      'cfg/skills/pdf/notes.txt': 'not listed\n',
      'cfg/docs/SKILL.md': 'not in a skills/NAME folder\n',
      'cfg/scripts/run.sh': 'not in a skill folder\n',
    });
    const walker = new TreeWalker(reader(repo));
    const files = await walker.list(git(repo, 'rev-parse', 'HEAD'), 'cfg');
    expect(files.map((f) => f.path)).toEqual([
      'skills/pdf/SKILL.md',
      'skills/pdf/assets/logo.png',
      'skills/pdf/references/format.md',
      'skills/pdf/scripts/collect.sh',
      'skills/pdf/scripts/lib/util.py',
    ]);
    const md = files.find((f) => f.path === 'skills/pdf/SKILL.md');
    expect((await md?.read())?.toString()).toBe('---\nname: pdf\n---\n');
  });

  it('reads again only the trees a commit changed', async () => {
    const repo = makeRepo(FILES);
    const blobs = reader(repo);
    const reads: string[] = [];
    const read = blobs.read.bind(blobs);
    blobs.read = (id: string) => {
      reads.push(id);
      return read(id);
    };
    const walker = new TreeWalker(blobs);
    await walker.list(git(repo, 'rev-parse', 'HEAD'), 'cfg');
    writeFiles(repo, { 'cfg/deep/er/still.yml': 'd: 2\n' });
    removeFiles(repo, 'cfg/z.YML');
    const head = commitAll(repo, 'change deep');
    reads.length = 0;
    const files = await walker.list(head, 'cfg');
    expect(files.map((f) => [f.path, f.id])).toEqual(lsTree(repo, head, 'cfg'));
    const treeOf = (path: string): string => git(repo, 'rev-parse', `${head}:${path}`);
    // The commit, the root, cfg (changed), deep and deep/er (changed); not a/, ünïcode/ or .hidden/.
    expect(reads.sort()).toEqual([head, treeOf(''), treeOf('cfg'), treeOf('cfg/deep'), treeOf('cfg/deep/er')].sort());
  });

  it('lists a large directory right through content changes, same-length renames, additions and removals', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 400; i++) files[`big/s-${String(i).padStart(3, '0')}.yaml`] = `s: ${i}\n`;
    const repo = makeRepo(files);
    const walker = new TreeWalker(reader(repo));
    await walker.list(git(repo, 'rev-parse', 'HEAD'), 'big');
    const steps: Array<() => void> = [
      () => writeFiles(repo, { 'big/s-200.yaml': 's: changed\n' }), // one id changes; the tree keeps its length
      () => {
        // Another name of the same length, in another block of the tree.
        removeFiles(repo, 'big/s-010.yaml');
        writeFiles(repo, { 'big/t-010.yaml': 's: 10\n' });
      },
      () => writeFiles(repo, { 'big/s-123.yaml': 's: 123 again\n', 'big/s-399.yaml': 's: last\n' }),
      () => writeFiles(repo, { 'big/s-0000.yaml': 'added\n' }),
      () => removeFiles(repo, 'big/s-300.yaml', 'big/s-301.yaml'),
    ];
    for (const step of steps) {
      step();
      const head = commitAll(repo, 'step');
      const listed = await walker.list(head, 'big');
      expect(listed.map((f) => [f.path, f.id])).toEqual(lsTree(repo, head, 'big'));
    }
  });
});
