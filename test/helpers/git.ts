// Real git repositories in temp dirs for tests: a bare remote and working clones, with a
// fixed identity passed through the environment so no global git config is needed.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, rmSync, cpSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir } from './temp.js';

export const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Caduceus Test',
  GIT_AUTHOR_EMAIL: 'test@caduceus.invalid',
  GIT_COMMITTER_NAME: 'Caduceus Test',
  GIT_COMMITTER_EMAIL: 'test@caduceus.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** A working repository on branch main, optionally seeded with files, with one commit. */
export function makeRepo(files: Record<string, string> = {}, opts: { dir?: string } = {}): string {
  const dir = opts.dir ?? tempDir('caduceus-repo-');
  git(dir, 'init', '-q', '-b', 'main');
  writeFiles(dir, files);
  if (Object.keys(files).length > 0) commitAll(dir, 'initial');
  return dir;
}

/** A bare remote plus a clone of it on main, seeded with files in one commit (dated `at`, when given) and pushed. */
export function makeRemote(
  files: Record<string, string>,
  opts: { message?: string; at?: number } = {},
): { bare: string; clone: string } {
  const bare = tempDir('caduceus-bare-');
  git(bare, 'init', '-q', '--bare', '-b', 'main');
  const clone = tempDir('caduceus-clone-');
  git(clone, 'clone', '-q', bare, '.');
  git(clone, 'checkout', '-q', '-B', 'main');
  writeFiles(clone, files);
  commitAll(clone, opts.message ?? 'initial', opts.at);
  git(clone, 'push', '-q', 'origin', 'main');
  return { bare, clone };
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
}

export function removeFiles(dir: string, ...rels: string[]): void {
  for (const rel of rels) rmSync(join(dir, rel), { force: true, recursive: true });
}

/** Stages everything and commits, dated `at` (ms since the epoch) when given; returns the new commit SHA. */
export function commitAll(dir: string, message: string, at?: number): string {
  git(dir, 'add', '-A');
  const args = ['commit', '-q', '--allow-empty', '-m', message];
  if (at === undefined) git(dir, ...args);
  else {
    const date = new Date(at).toISOString();
    execFileSync('git', args, {
      cwd: dir,
      env: { ...GIT_ENV, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }
  return git(dir, 'rev-parse', 'HEAD');
}

/** Copies examples/repo into a fresh repository, for end-to-end tests on the real example. */
export function exampleRepo(): string {
  const dir = tempDir('caduceus-example-');
  cpSync(join(import.meta.dirname, '..', '..', 'examples', 'repo'), dir, { recursive: true });
  makeRepo({}, { dir });
  commitAll(dir, 'example');
  return dir;
}

/**
 * A minimal valid Skill document, the fixture most tests commit: one step running `run`.
 * `extra` is spec lines placed before the steps (params, aliases, …); `steps` replaces
 * the step lines as written.
 */
export function skillYaml(
  name: string,
  run = `echo ${name}`,
  opts: { description?: string; extra?: string; steps?: string } = {},
): string {
  return `apiVersion: caduceus.dev/v1
kind: Skill
metadata:
  name: ${name}
spec:
  version: "1.0.0"
  description: ${opts.description ?? `Says ${name}`}
${opts.extra ?? ''}  steps:
${opts.steps ?? `    - run: ${JSON.stringify(run)}\n`}`;
}
