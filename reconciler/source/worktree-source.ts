// Dev mode (--worktree): the configuration directory's files as they are on disk,
// committed or not, so an operator sees an edit applied before committing it. Edits are
// debounced (editors write in bursts). Each file's id is the git blob SHA of its content,
// so ids match commit mode and the loader re-parses only what changed.

import { watch, type FSWatcher } from 'chokidar';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, readdirSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import type { Logger } from '../types.js';
import { gitBlobId, type SourceFile } from '../source-file.js';
import { CaduceusError, errorMessage } from '../errors.js';
import { isConfigFile, normalizeSubPath } from './tree-reader.js';
import type { Revision, Source, SourceStatus } from './source-types.js';

const DEBOUNCE_MS = 150;

export interface WorktreeSourceOptions {
  repo: string;
  path?: string;
  log: Logger;
  debounceMs?: number;
}

function skipDir(name: string): boolean {
  return name.startsWith('.') || name === 'node_modules';
}

interface Cached {
  stamp: string;
  id: string;
  content: Buffer;
}

export class WorktreeSource implements Source {
  private readonly dir: string;
  private readonly cache = new Map<string, Cached>();
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private last: Revision | undefined;

  constructor(private readonly opts: WorktreeSourceOptions) {
    this.dir = resolve(opts.repo, normalizeSubPath(opts.path));
  }

  private check(): void {
    if (!existsSync(this.dir) || !statSync(this.dir).isDirectory()) {
      throw new CaduceusError('GitPathNotFound', `configuration directory ${this.dir} does not exist`, {
        hint: 'check --repo and --path',
      });
    }
  }

  /** Every *.yaml / *.yml below the directory, skipping dot-directories and node_modules. */
  private list(): string[] {
    const out: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) {
          if (!skipDir(e.name)) walk(join(d, e.name));
        } else if (e.isFile()) {
          const rel = relative(this.dir, join(d, e.name)).split(sep).join('/');
          if (isConfigFile(rel)) out.push(rel);
        }
      }
    };
    walk(this.dir);
    return out.sort();
  }

  async current(): Promise<Revision> {
    this.check();
    const files: SourceFile[] = [];
    const seen = new Set<string>();
    for (const path of this.list()) {
      const abs = join(this.dir, path);
      let entry: Cached | undefined;
      try {
        const st = statSync(abs);
        const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
        entry = this.cache.get(path);
        if (!entry || entry.stamp !== stamp) {
          const content = readFileSync(abs);
          entry = { stamp, id: gitBlobId(content), content };
          this.cache.set(path, entry);
        }
      } catch {
        continue; // deleted between listing and reading: the next event brings the new state
      }
      seen.add(path);
      // The content read with the id, never a later one: ids must name what read() returns.
      const content = entry.content;
      files.push({ path, id: entry.id, read: async () => content });
    }
    for (const p of this.cache.keys()) if (!seen.has(p)) this.cache.delete(p);
    const id =
      'worktree:' +
      createHash('sha256')
        .update(files.map((f) => `${f.path}\0${f.id}\n`).join(''))
        .digest('hex')
        .slice(0, 16);
    if (this.last?.id === id) return this.last;
    this.last = { id, files };
    return this.last;
  }

  async start(onChange: () => void): Promise<void> {
    this.check();
    const root = this.dir;
    const w = watch(root, {
      ignoreInitial: true,
      ignored: (p: string, stats?: { isFile(): boolean }) =>
        p !== root && (skipDir(basename(p)) || (stats?.isFile() === true && !isConfigFile(p))),
    });
    w.on('all', () => {
      if (this.debounce) clearTimeout(this.debounce);
      this.debounce = setTimeout(onChange, this.opts.debounceMs ?? DEBOUNCE_MS);
    });
    w.on('error', (err) =>
      this.opts.log.warn('watching the configuration directory failed', { error: errorMessage(err) }),
    );
    await new Promise<void>((r) => w.once('ready', () => r()));
    this.watcher = w;
  }

  async stop(): Promise<void> {
    if (this.debounce) clearTimeout(this.debounce);
    await this.watcher?.close();
  }

  async fetchNow(): Promise<void> {
    // Files on disk are read directly; there is nothing to fetch.
  }

  status(): SourceStatus {
    return {
      mode: 'worktree',
      repo: resolve(this.opts.repo),
      path: this.opts.path ? normalizeSubPath(this.opts.path) : undefined,
      fetchErrors: 0,
      revision: this.last?.id,
    };
  }
}
