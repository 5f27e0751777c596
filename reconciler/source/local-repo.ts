// Opens a local repository for reading: where its git directories are, and the
// sub-directory the user pointed at when that is inside the work tree. Errors say
// which path is wrong and what to do.

import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { CaduceusError } from '../errors.js';
import { gitClient, gitMessage, gitRaw } from './git-cli.js';

export interface LocalRepo {
  /** Made on first use: reading a revision needs no simple-git (local-source.ts). */
  readonly git: SimpleGit;
  /** The directory git commands run in. */
  dir: string;
  gitDir: string;
  commonDir: string;
  bare: boolean;
  /** Sub-directory of the work tree `dir` is in (`sub/`), '' at the top or in a bare repository. */
  prefix: string;
}

export async function openLocalRepo(repo: string): Promise<LocalRepo> {
  const dir = resolve(repo);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CaduceusError('GitRepoNotFound', `repository ${dir} does not exist`, {
      hint: 'pass --repo the path of a git repository or a remote URL',
    });
  }
  const onDisk = discoverOnDisk(dir);
  let git: SimpleGit | undefined;
  if (onDisk) {
    return {
      get git() {
        git ??= gitClient(dir);
        return git;
      },
      dir,
      ...onDisk,
    };
  }
  let out: string;
  try {
    out = await gitRaw(dir, [
      'rev-parse',
      '--is-bare-repository',
      '--absolute-git-dir',
      '--path-format=absolute',
      '--git-common-dir',
      '--show-prefix',
    ]);
  } catch (err) {
    throw new CaduceusError('GitRepoNotFound', `${dir} is not a git repository (${gitMessage(err)})`, {
      hint: `run 'git init && git add -A && git commit -m init' there, or use 'caduceus init'`,
    });
  }
  const [bare, gitDir, commonDir, prefix] = out.split('\n');
  return {
    get git() {
      git ??= gitClient(dir);
      return git;
    },
    dir,
    bare: bare === 'true',
    gitDir: gitDir ?? '',
    commonDir: commonDir ?? gitDir ?? '',
    prefix: bare === 'true' ? '' : (prefix ?? ''),
  };
}

/**
 * What `git rev-parse --absolute-git-dir --git-common-dir --show-prefix` answers, read from
 * the files for the plain layouts (a `.git` directory, or a `.git` file naming a linked
 * worktree's git directory), so `up` starts without that process. Anything else — a bare
 * repository, the GIT_* discovery variables, another owner (safe.directory), a config
 * that moves the work tree, a file system boundary — returns undefined and git is asked.
 */
export function discoverOnDisk(dir: string): Omit<LocalRepo, 'git' | 'dir'> | undefined {
  const env = process.env;
  const vars = [
    'GIT_DIR',
    'GIT_WORK_TREE',
    'GIT_COMMON_DIR',
    'GIT_CEILING_DIRECTORIES',
    'GIT_DISCOVERY_ACROSS_FILESYSTEM',
  ];
  if (vars.some((v) => env[v] !== undefined)) return undefined;
  try {
    const start = realpathSync(dir);
    const device = statSync(start).dev;
    for (let top = start; ; ) {
      // A git directory itself (a bare repository): git's own rules apply.
      if (['HEAD', 'objects', 'refs'].every((f) => existsSync(join(top, f)))) return undefined;
      const dotGit = join(top, '.git');
      const st = statSync(dotGit, { throwIfNoEntry: false });
      if (st) {
        let gitDir: string;
        if (st.isDirectory()) gitDir = dotGit;
        else {
          const m = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'));
          if (!m?.[1]) return undefined;
          gitDir = realpathSync(resolve(top, m[1].trim()));
        }
        let commonDir = gitDir;
        if (existsSync(join(gitDir, 'commondir')))
          commonDir = realpathSync(resolve(gitDir, readFileSync(join(gitDir, 'commondir'), 'utf8').trim()));
        if (!existsSync(join(gitDir, 'HEAD')) || !existsSync(join(commonDir, 'objects'))) return undefined;
        if (typeof process.getuid === 'function' && statSync(commonDir).uid !== process.getuid()) return undefined;
        if (/^\s*(worktree|bare\s*=\s*true)/im.test(readFileSync(join(commonDir, 'config'), 'utf8'))) return undefined;
        const rel = relative(top, start);
        return { gitDir, commonDir, bare: false, prefix: rel ? `${rel.split(sep).join('/')}/` : '' };
      }
      const up = dirname(top);
      if (up === top || statSync(up).dev !== device) return undefined;
      top = up;
    }
  } catch {
    return undefined;
  }
}

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/**
 * Reads where `ref` (HEAD or refs/heads/NAME) points straight from the ref files, without
 * starting git: the ref watcher fires on every commit and this is on its fast path.
 * Returns undefined whenever the layout is not the plain files one (reftable, a symbolic
 * ref chain, a missing ref); the caller then asks git.
 */
export function readRefFile(r: Pick<LocalRepo, 'gitDir' | 'commonDir'>, ref: string): string | undefined {
  try {
    let name = ref;
    if (ref === 'HEAD') {
      const head = readFileSync(join(r.gitDir, 'HEAD'), 'utf8').trim();
      if (SHA.test(head)) return head;
      if (!head.startsWith('ref: refs/heads/')) return undefined;
      name = head.slice(5);
    }
    if (!name.startsWith('refs/heads/')) return undefined;
    try {
      const loose = readFileSync(join(r.commonDir, name), 'utf8').trim();
      return SHA.test(loose) ? loose : undefined;
    } catch {
      // Not loose: look in packed-refs (`<sha> <name>` lines; `^<sha>` peels tags).
    }
    for (const line of readFileSync(join(r.commonDir, 'packed-refs'), 'utf8').split('\n')) {
      const sp = line.indexOf(' ');
      if (sp > 0 && line.slice(sp + 1) === name && SHA.test(line.slice(0, sp))) return line.slice(0, sp);
    }
    return undefined;
  } catch {
    return undefined;
  }
}
