// Watches the refs of a local repository so a commit is seen the moment git moves the
// branch. Git replaces ref files atomically (write `main.lock`, rename over `main`) and
// `git gc` moves refs into `packed-refs`, so the directories are watched, not the files:
// HEAD and packed-refs in the git directories, everything under refs/heads.

import { watch, type FSWatcher } from 'chokidar';
import { basename, join } from 'node:path';

export interface RefWatcher {
  close(): Promise<void>;
}

export interface RefDirs {
  /** The repository's own git directory (HEAD lives here; differs from commonDir in a linked worktree). */
  gitDir: string;
  /** Where refs and packed-refs live. */
  commonDir: string;
}

function ready(w: FSWatcher): Promise<void> {
  return new Promise((resolve, reject) => {
    w.once('ready', () => resolve());
    w.once('error', reject);
  });
}

/**
 * chokidar drops a second `change` of one file within 50 ms of the first (its throttle has
 * no trailing call), so two quick commits would show only the first. Every event is
 * therefore followed by one more check this much later, which sees the final state.
 */
const TRAILING_CHECK_MS = 100;

/** Calls onChange on each change of HEAD, packed-refs or a branch ref, and once more shortly after. */
export async function watchRefs(
  dirs: RefDirs,
  onChange: (file: string) => void,
  onError: (err: unknown) => void,
): Promise<RefWatcher> {
  let trailing: NodeJS.Timeout | undefined;
  const changed = (path: string): void => {
    onChange(path);
    if (trailing) clearTimeout(trailing);
    trailing = setTimeout(() => onChange(path), TRAILING_CHECK_MS);
    trailing.unref();
  };
  const roots = [...new Set([dirs.gitDir, dirs.commonDir])];
  const top = watch(roots, {
    ignoreInitial: true,
    depth: 0,
    ignored: (p: string) => !roots.includes(p) && basename(p) !== 'HEAD' && basename(p) !== 'packed-refs',
  });
  const heads = watch(join(dirs.commonDir, 'refs', 'heads'), {
    ignoreInitial: true,
    ignored: (p: string) => p.endsWith('.lock'),
  });
  const watchers = [top, heads];
  for (const w of watchers) {
    w.on('all', (_event, path) => changed(path));
    w.on('error', onError);
  }
  try {
    await Promise.all(watchers.map(ready));
  } catch (err) {
    // A watch that fails to start must not leave the other one (or its timer) running.
    if (trailing) clearTimeout(trailing);
    await Promise.allSettled(watchers.map((w) => w.close()));
    throw err;
  }
  return {
    close: async () => {
      if (trailing) clearTimeout(trailing);
      await Promise.all(watchers.map((w) => w.close()));
    },
  };
}
