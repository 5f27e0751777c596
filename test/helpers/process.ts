// Runs a command to its end without blocking the test worker's event loop: a synchronous
// spawn that holds the loop for a minute makes vitest's worker RPC time out on a loaded
// machine ("Timeout calling onTaskUpdate"), so long CLI-driven tests await this instead.

import { spawn, type SpawnOptions } from 'node:child_process';

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawns `cmd`, writes `input` (if any) to its stdin, and resolves with its exit code and output. */
export function runProcess(
  cmd: string,
  args: string[],
  opts: Pick<SpawnOptions, 'cwd' | 'env'> & { input?: string } = {},
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input);
  });
}
