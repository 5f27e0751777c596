// Lists the configuration files of a commit by reading its commit and tree objects through
// the source's one `git cat-file --batch` process (blob-reader.ts): neither the first
// listing of 10,000 files nor a new commit starts a git process. A directory whose tree id
// is the one of the previous listing is not read again, so the cost of a commit follows the
// directories it touched. Every *.yaml / *.yml regular file counts (symlinks could point
// outside the tree, submodules are commits); the loader applies its own path rules on top.

import type { SourceFile } from '../loader.js';
import { CaduceusError } from '../errors.js';
import type { BlobReader } from './blob-reader.js';
import { isConfigFile } from './tree-reader.js';

interface Entry {
  mode: string;
  name: string;
  id: string;
}

/** The entries of a tree object: `<mode> <name>\0<raw object id>` each. */
export function parseTree(body: Buffer, idBytes: number): Entry[] {
  const out: Entry[] = [];
  let i = 0;
  while (i < body.length) {
    const space = body.indexOf(0x20, i);
    const nul = body.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 1 + idBytes > body.length) throw new Error('malformed git tree object');
    out.push({
      mode: body.toString('latin1', i, space),
      name: body.toString('utf8', space + 1, nul),
      id: body.toString('hex', nul + 1, nul + 1 + idBytes),
    });
    i = nul + 1 + idBytes;
  }
  return out;
}

const byPath = (a: SourceFile, b: SourceFile): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

export class TreeWalker {
  /** Files below each directory of the last listing, by `prefix NUL tree id`. */
  private listed = new Map<string, SourceFile[]>();

  constructor(private readonly blobs: BlobReader) {}

  /** The config files of `commit` under `subPath` (relative to the repository root), paths relative to it, sorted. */
  async list(commit: string, subPath: string): Promise<SourceFile[]> {
    const idBytes = commit.length / 2;
    const head = (await this.blobs.read(commit)).toString('latin1', 0, 5 + 2 * idBytes);
    if (!head.startsWith('tree ')) throw new CaduceusError('GitReadFailed', `${commit.slice(0, 8)} is not a commit`);
    let tree = head.slice(5);
    for (const part of subPath.split('/').filter((p) => p !== '')) {
      const dir = parseTree(await this.blobs.read(tree), idBytes).find((e) => e.name === part && e.mode === '40000');
      if (!dir) {
        throw new CaduceusError('GitPathNotFound', `commit ${commit.slice(0, 8)} has no directory "${subPath}"`, {
          hint: 'check --path: it is relative to the repository root',
        });
      }
      tree = dir.id;
    }
    const next = new Map<string, SourceFile[]>();
    const files = await this.walk(tree, '', idBytes, next);
    this.listed = next; // keep only what this revision still has
    return files.every((f, i) => i === 0 || byPath(files[i - 1] as SourceFile, f) < 0)
      ? files
      : [...files].sort(byPath);
  }

  private async walk(
    tree: string,
    prefix: string,
    idBytes: number,
    next: Map<string, SourceFile[]>,
  ): Promise<SourceFile[]> {
    const key = `${prefix}\0${tree}`;
    const known = this.listed.get(key) ?? next.get(key);
    if (known) {
      next.set(key, known);
      return known;
    }
    const files: SourceFile[] = [];
    const dirs: Entry[] = [];
    for (const e of parseTree(await this.blobs.read(tree), idBytes)) {
      if (e.mode === '40000') dirs.push(e);
      else if ((e.mode === '100644' || e.mode === '100755') && isConfigFile(e.name)) {
        const id = e.id;
        files.push({ path: prefix + e.name, id, read: () => this.blobs.read(id) });
      }
    }
    // The sub-directories are asked for together: one write to git for all of them.
    const below = await Promise.all(dirs.map((d) => this.walk(d.id, `${prefix}${d.name}/`, idBytes, next)));
    const all = below.length > 0 ? files.concat(...below) : files;
    next.set(key, all);
    return all;
  }
}
