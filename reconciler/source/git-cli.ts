// How the git source talks to git: one simple-git instance per repository with a
// non-interactive environment (a missing credential fails instead of prompting), and
// git's errors turned into CaduceusErrors whose messages never carry a credential.

import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import type { SimpleGit } from 'simple-git';
import { CaduceusError } from '../errors.js';
import type { ErrorCode } from '../error-codes.js';
import { redactUrl } from '../secrets.js';

/**
 * simple-git refuses some environment variables (GIT_SSH_COMMAND, EDITOR, PAGER, …) to
 * protect against untrusted input. Here the environment is the operator's own and the
 * arguments are built by this module, so those checks are lifted for the environment.
 */
const TRUSTED_ENVIRONMENT = {
  allowUnsafeSshCommand: true,
  allowUnsafeAskPass: true,
  allowUnsafeEditor: true,
  allowUnsafePager: true,
  allowUnsafeConfigPaths: true,
  allowUnsafeConfigEnvCount: true,
  allowUnsafeGitProxy: true,
  allowUnsafeDiffExternal: true,
  allowUnsafeTemplateDir: true,
} as const;

export function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
  // ssh must not ask for a passphrase or a host key confirmation on a terminal either.
  if (!env.GIT_SSH_COMMAND && !env.GIT_SSH) env.GIT_SSH_COMMAND = 'ssh -o BatchMode=yes';
  return env;
}

let simpleGit: typeof import('simple-git').simpleGit | undefined;

/**
 * A simple-git client for `dir`; `blockMs` kills a command that prints nothing for that long.
 * simple-git is required on the first call: a local repository's start needs only gitRaw.
 */
export function gitClient(dir: string, blockMs = 120_000): SimpleGit {
  simpleGit ??= (createRequire(import.meta.url)('simple-git') as typeof import('simple-git')).simpleGit;
  return simpleGit({
    baseDir: dir,
    maxConcurrentProcesses: 4,
    timeout: { block: blockMs },
    unsafe: TRUSTED_ENVIRONMENT,
  }).env(gitEnv());
}

/**
 * One git command's standard output, in the same environment as gitClient's, without
 * loading simple-git; a failure's message is git's standard error, as simple-git's is.
 */
export function gitRaw(dir: string, args: readonly string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      { cwd: dir, env: gitEnv(), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => (err ? reject(new Error(stderr.trim() || err.message)) : resolve(stdout)),
    );
  });
}

/** The message of a git failure, one line per stderr line, credentials removed. */
export function gitMessage(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  return redactUrl(
    raw
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .join('; '),
  );
}

/** Wraps a git failure in a CaduceusError with a stable code and what to do next. */
export function gitError(code: ErrorCode, what: string, err: unknown, hint?: string): CaduceusError {
  // No `cause`: git's raw message may hold a credential that only the redacted text drops.
  return new CaduceusError(code, `${what}: ${gitMessage(err)}`, hint ? { hint } : {});
}
