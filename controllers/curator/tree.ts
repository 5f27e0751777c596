// The configuration tree the curator edits: files on disk under the config root plus an
// in-memory overlay of edits. Proposals are applied to the overlay first, so a dry-run can
// diff and the loader can validate the result before anything is written or committed.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { isConfigPath } from '../../reconciler/loader.js';
import type { SourceFile } from '../../reconciler/source-file.js';

export class ConfigTree {
  private readonly overlay = new Map<string, string | null>();
  private listing: string[] | undefined;

  constructor(readonly root: string) {}

  /** Config-relative files the loader reads: YAML and skill folders (forward slashes; see isConfigPath). */
  diskFiles(): string[] {
    if (!this.listing) {
      const out: string[] = [];
      const walk = (dir: string, rel: string): void => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          if (e.name.startsWith('.') || e.name === 'node_modules') continue;
          const r = rel ? `${rel}/${e.name}` : e.name;
          if (e.isDirectory()) walk(join(dir, e.name), r);
          else if (e.isFile() && isConfigPath(r)) out.push(r);
        }
      };
      walk(this.root, '');
      this.listing = out.sort();
    }
    return this.listing;
  }

  /** Files after the overlay: what the loader would see. */
  files(): string[] {
    const set = new Set(this.diskFiles());
    for (const [f, v] of this.overlay) {
      if (v === null) set.delete(f);
      else if (isConfigPath(f)) set.add(f);
    }
    return [...set].sort();
  }

  exists(rel: string): boolean {
    if (this.overlay.has(rel)) return this.overlay.get(rel) !== null;
    try {
      return statSync(join(this.root, ...rel.split('/'))).isFile();
    } catch {
      return false;
    }
  }

  read(rel: string): string {
    const o = this.overlay.get(rel);
    if (o === null) throw new Error(`${rel} was removed`);
    if (o !== undefined) return o;
    return readFileSync(join(this.root, ...rel.split('/')), 'utf8');
  }

  /** The file as it is on disk, ignoring the overlay. */
  readDisk(rel: string): string {
    return readFileSync(join(this.root, ...rel.split('/')), 'utf8');
  }

  write(rel: string, text: string): void {
    this.overlay.set(rel, text);
  }

  remove(rel: string): void {
    this.overlay.set(rel, null);
  }

  /** Every edited path with its new content (null: removed), sorted by path. */
  changes(): Array<[string, string | null]> {
    return [...this.overlay.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** The files as the loader's SourceFile list; unchanged files keep a stable id so a loader cache can reuse them. */
  sourceFiles(): SourceFile[] {
    return this.files().map((path) => {
      const o = this.overlay.get(path);
      if (typeof o === 'string') {
        const id = createHash('sha1').update(o).digest('hex');
        return { path, id, read: async () => Buffer.from(o) };
      }
      const abs = join(this.root, ...path.split('/'));
      const st = statSync(abs);
      return { path, id: `disk:${path}:${st.size}:${st.mtimeMs}`, read: async () => readFileSync(abs) };
    });
  }
}
