// How the git source talks to git: one simple-git instance per repository with a
// non-interactive environment (a missing credential fails instead of prompting), and
// git's errors turned into CaduceusErrors whose messages never carry a credential.

import { simpleGit, type SimpleGit } from 'simple-git';
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

/** A simple-git client for `dir`; `blockMs` kills a command that prints nothing for that long. */
export function gitClient(dir: string, blockMs = 120_000): SimpleGit {
  return simpleGit({
    baseDir: dir,
    maxConcurrentProcesses: 4,
    timeout: { block: blockMs },
    unsafe: TRUSTED_ENVIRONMENT,
  }).env(gitEnv());
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
