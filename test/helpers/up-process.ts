// `caduceus up` as a child process (the compiled CLI), for tests that crash it with
// SIGKILL or run several replicas: started with a free port, resolved once it logs that
// it is up, and killed after each test of the file that uses it.

import { afterEach } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { GIT_ENV } from './git.js';

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'app', 'cli.js');

export interface UpProcess {
  child: ChildProcess;
  url: string;
  logs(): string;
  /** Resolves with the exit code (or signal) once the process ended. */
  exited: Promise<number | string | null>;
}

/** Returns a starter; call it at a file's top level (it registers the afterEach that kills). */
export function upStarter(): (args: string[], env?: NodeJS.ProcessEnv) => Promise<UpProcess> {
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(t);
    }
  });
  return (args, env = {}) => {
    const child = spawn(process.execPath, [CLI, 'up', '--listen', '127.0.0.1:0', ...args], {
      env: { ...GIT_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let logs = '';
    const exited = new Promise<number | string | null>((r) => child.once('exit', (code, sig) => r(code ?? sig)));
    return new Promise((resolve, reject) => {
      const onData = (b: Buffer): void => {
        logs += b.toString();
        const m = /caduceus is up\s+url=(\S+)/.exec(logs);
        if (m) resolve({ child, url: m[1] as string, logs: () => logs, exited });
      };
      child.stderr?.on('data', onData);
      child.stdout?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`caduceus up exited with ${code}:\n${logs}`)));
    });
  };
}
