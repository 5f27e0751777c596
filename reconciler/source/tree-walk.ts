// Lists the configuration files of a commit by reading its commit and tree objects through
// the source's one `git cat-file --batch` process (blob-reader.ts): neither the first
// listing of 10,000 files nor a new commit starts a git process. A directory whose tree id
// is the one of the previous listing is not read again, so the cost of a commit follows the
// directories it touched. Every *.yaml / *.yml regular file counts, and so does every file
// of an Agent Skills folder (isConfigFile, by path: SKILL.md and its scripts/, references/,
// assets/); symlinks could point outside the tree, submodules are commits. The loader
// applies its own path rules on top.

import type { SourceFile } from '../source-file.js';
import { CaduceusError } from '../errors.js';
import type { BlobReader } from './blob-reader.js';
import { isConfigFile, missingDirectory } from './tree-reader.js';

interface Entry {
  mode: string;
  name: string;
  id: string;
}

/** One entry of a tree object at `start`: `<mode> <name>\0<raw object id>`; `end` is where the next starts. */
function entryAt(body: Buffer, start: number, idBytes: number): Entry & { end: number } {
  const space = body.indexOf(0x20, start);
  const nul = space < 0 ? -1 : body.indexOf(0, space + 1);
  if (space < 0 || nul < 0 || nul + 1 + idBytes > body.length) throw new Error('malformed git tree object');
  return {
    mode: body.toString('latin1', start, space),
    name: body.toString('utf8', space + 1, nul),
    id: body.toString('hex', nul + 1, nul + 1 + idBytes),
    end: nul + 1 + idBytes,
  };
}

/** The entries of a tree object. */
export function parseTree(body: Buffer, idBytes: number): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < body.length; ) {
    const e = entryAt(body, i, idBytes);
    out.push(e);
    i = e.end;
  }
  return out;
}

/** A directory's tree as last read: its bytes, and each entry with where it starts and ends. */
interface ReadTree {
  body: Buffer;
  starts: number[];
  ends: number[];
  entries: Entry[];
  /** The SourceFile made for each entry that is a config file. */
  files: Array<SourceFile | undefined>;
}

const BLOCK = 4096;

/** Per block of BLOCK bytes: 1 where two bodies of one length are byte for byte the same. */
function sameBlocks(a: Buffer, b: Buffer): Uint8Array {
  const same = new Uint8Array(Math.ceil(a.length / BLOCK));
  for (let i = 0; i < same.length; i++) {
    const end = Math.min(a.length, (i + 1) * BLOCK);
    same[i] = a.compare(b, i * BLOCK, end, i * BLOCK, end) === 0 ? 1 : 0;
  }
  return same;
}

const byPath = (a: SourceFile, b: SourceFile): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

export class TreeWalker {
  /** Files below each directory of the last listing, by `prefix NUL tree id`. */
  private listed = new Map<string, SourceFile[]>();
  /**
   * Each directory's tree as last read, by prefix. Only a cache of parsing: an entry is
   * taken from it only where the bytes are the same, however old it is.
   */
  private readonly trees = new Map<string, ReadTree>();

  constructor(private readonly blobs: BlobReader) {}

  /** The config files of `commit` under `subPath` (relative to the repository root), paths relative to it, sorted. */
  async list(commit: string, subPath: string): Promise<SourceFile[]> {
    const idBytes = commit.length / 2;
    const head = (await this.blobs.read(commit)).toString('latin1', 0, 5 + 2 * idBytes);
    if (!head.startsWith('tree ')) throw new CaduceusError('GitReadFailed', `${commit.slice(0, 8)} is not a commit`);
    let tree = head.slice(5);
    for (const part of subPath.split('/').filter((p) => p !== '')) {
      const dir = parseTree(await this.blobs.read(tree), idBytes).find((e) => e.name === part && e.mode === '40000');
      if (!dir) throw missingDirectory(commit, subPath);
      tree = dir.id;
    }
    const next = new Map<string, SourceFile[]>();
    // Directories come and go: a cache that has seen too many starts again.
    if (this.trees.size > 10_000) this.trees.clear();
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
    const read = this.readTree(prefix, await this.blobs.read(tree), idBytes);
    this.trees.set(prefix, read);
    const files: SourceFile[] = [];
    const dirs: Entry[] = [];
    read.entries.forEach((e, i) => {
      if (e.mode === '40000') dirs.push(e);
      else if ((e.mode === '100644' || e.mode === '100755') && isConfigFile(prefix + e.name)) {
        let f = read.files[i];
        if (!f) {
          const id = e.id;
          f = { path: prefix + e.name, id, read: () => this.blobs.read(id) };
          read.files[i] = f;
        }
        files.push(f);
      }
    });
    // The sub-directories are asked for together: one write to git for all of them.
    const below = await Promise.all(dirs.map((d) => this.walk(d.id, `${prefix}${d.name}/`, idBytes, next)));
    const all = below.length > 0 ? files.concat(...below) : files;
    next.set(key, all);
    return all;
  }

  /**
   * The entries of a directory's tree. When its last read tree has the same length (a file's
   * content changed, not its name), an entry that starts where an old one started and lies
   * in unchanged bytes is the old entry: a commit that changes one file of a 10,000-file
   * directory parses one entry, not 10,000.
   */
  private readTree(prefix: string, body: Buffer, idBytes: number): ReadTree {
    const prev = this.trees.get(prefix);
    const same = prev && prev.body.length === body.length ? sameBlocks(prev.body, body) : undefined;
    const out: ReadTree = { body, starts: [], ends: [], entries: [], files: [] };
    let k = 0;
    for (let i = 0; i < body.length; ) {
      if (prev && same) {
        while (k < prev.starts.length && (prev.starts[k] as number) < i) k++;
        const end = prev.ends[k] as number;
        if (prev.starts[k] === i && unchanged(same, i, end)) {
          out.starts.push(i);
          out.ends.push(end);
          out.entries.push(prev.entries[k] as Entry);
          out.files.push(prev.files[k]);
          i = end;
          continue;
        }
      }
      const e = entryAt(body, i, idBytes);
      out.starts.push(i);
      out.ends.push(e.end);
      out.entries.push({ mode: e.mode, name: e.name, id: e.id });
      out.files.push(undefined);
      i = e.end;
    }
    return out;
  }
}

/** True when bytes [start, end) lie in blocks that did not change. */
function unchanged(same: Uint8Array, start: number, end: number): boolean {
  for (let b = Math.floor(start / BLOCK); b <= Math.floor((end - 1) / BLOCK); b++) if (same[b] !== 1) return false;
  return true;
}
