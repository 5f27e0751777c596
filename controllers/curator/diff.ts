// Unified diff of the overlay against the files on disk, for dry-runs: both sides are
// written to a temporary directory and compared with `git diff --no-index`, which reads
// no repository and writes nothing outside that directory. With --no-prefix the sides'
// folder names `a/` and `b/` become the usual prefixes.

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ConfigTree } from './tree.js';

const run = promisify(execFile);

export async function overlayDiff(tree: ConfigTree): Promise<string> {
  const changes = tree.changes();
  if (changes.length === 0) return '';
  const tmp = mkdtempSync(join(tmpdir(), 'caduceus-curator-diff-'));
  try {
    for (const side of ['a', 'b']) mkdirSync(join(tmp, side));
    for (const [rel, next] of changes) {
      const before = diskText(tree, rel);
      if (before !== undefined) put(join(tmp, 'a', rel), before);
      if (next !== null) put(join(tmp, 'b', rel), next);
    }
    try {
      const { stdout } = await run('git', ['diff', '--no-index', '--no-color', '--no-prefix', '-M', 'a', 'b'], {
        cwd: tmp,
        maxBuffer: 256 * 1024 * 1024,
      });
      return stdout;
    } catch (err) {
      // Exit code 1 means "there are differences".
      const e = err as { code?: number; stdout?: string };
      if (e.code === 1 && typeof e.stdout === 'string')
        return e.stdout.replace(/^(rename|copy) (from|to) [ab]\//gm, '$1 $2 ');
      throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function put(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

function diskText(tree: ConfigTree, rel: string): string | undefined {
  try {
    return tree.readDisk(rel);
  } catch {
    return undefined;
  }
}
