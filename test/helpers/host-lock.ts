// A lock held across every process on the machine, for tests that change what the machine
// shares (its installed packages): two suites running at once take turns on such a test.
// flock(1) holds the lock while its child `cat` reads our pipe; the pipe closes when we
// release or when this process dies, so a killed test never leaves the lock taken.

import { spawn } from 'node:child_process';

/** Runs `fn` holding the exclusive flock on `/tmp/<name>.lock`; waits up to `waitMs` for it. */
export async function withHostLock<T>(name: string, fn: () => Promise<T>, waitMs = 240_000): Promise<T> {
  const file = `/tmp/${name}.lock`;
  const holder = spawn(
    'flock',
    ['-x', '-w', String(Math.ceil(waitMs / 1000)), file, 'sh', '-c', 'echo locked; exec cat'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((r) => {
    holder.once('exit', (code) => r(code));
    holder.once('error', () => r(null));
  });
  try {
    const locked = await new Promise<boolean>((resolve) => {
      holder.stdout.setEncoding('utf8').once('data', (s: string) => resolve(s.startsWith('locked')));
      void exited.then(() => resolve(false));
    });
    if (!locked) throw new Error(`could not take the host lock ${file} within ${waitMs} ms`);
    return await fn();
  } finally {
    holder.stdin.end();
    await exited;
  }
}
