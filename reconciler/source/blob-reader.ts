// Reads git blobs through one long-lived `git cat-file --batch` process per repository,
// so loading a 10,000-file revision costs one process, not 10,000. Requests are answered
// in order; the process is started on first use and restarted if it dies.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { CaduceusError } from '../errors.js';
import { gitEnv } from './git-cli.js';

interface Pending {
  sha: string;
  resolve(b: Buffer): void;
  reject(e: Error): void;
}

export class BlobReader {
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly pending: Pending[] = [];
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Size of the object whose content is being received, once its header was read. */
  private want: number | undefined;
  private closed = false;

  /** `gitDir` is a repository (bare or not) that git can be run in. */
  constructor(private readonly gitDir: string) {}

  read(sha: string): Promise<Buffer> {
    if (this.closed) return Promise.reject(new CaduceusError('GitSourceClosed', 'the git source was stopped'));
    if (!/^[0-9a-f]{40,64}$/.test(sha))
      return Promise.reject(new CaduceusError('GitBadObject', `not an object id: ${sha}`));
    return new Promise((resolve, reject) => {
      const child = this.process();
      this.pending.push({ sha, resolve, reject });
      // A process with work in flight keeps Node alive; an idle one must not (plan, tests).
      if (this.pending.length === 1) this.setRef(true);
      child.stdin.write(`${sha}\n`);
    });
  }

  close(): void {
    this.closed = true;
    this.fail(new CaduceusError('GitSourceClosed', 'the git source was stopped'));
    this.child?.stdin.end();
    this.child?.kill();
    this.child = undefined;
  }

  private process(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn('git', ['cat-file', '--batch'], {
      cwd: this.gitDir,
      env: gitEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    this.chunks = [];
    this.buffered = 0;
    this.want = undefined;
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => this.onData(b));
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
    child.stdin.on('error', () => undefined); // reported through 'exit'
    child.on('error', (e) => this.onExit(child, e.message));
    child.on('exit', (code) => this.onExit(child, stderr.trim() || `git cat-file exited with ${code}`));
    return child;
  }

  private setRef(on: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const h of [c, c.stdout, c.stderr, c.stdin] as Array<{ ref?(): void; unref?(): void }>)
      (on ? h.ref : h.unref)?.call(h);
  }

  private onExit(child: ChildProcessWithoutNullStreams, why: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.fail(new CaduceusError('GitReadFailed', `reading git objects failed: ${why}`));
  }

  private fail(err: Error): void {
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  private onData(b: Buffer): void {
    this.chunks.push(b);
    this.buffered += b.length;
    for (;;) {
      if (this.want === undefined) {
        const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
        this.chunks = [all];
        const nl = all.indexOf(10);
        if (nl < 0) return;
        const header = all.subarray(0, nl).toString();
        const rest = all.subarray(nl + 1);
        this.chunks = [rest];
        this.buffered = rest.length;
        const m = /^(\S+) (\S+) (\d+)$/.exec(header);
        if (!m) {
          // `<sha> missing` (or `ambiguous`): answer this request and go on.
          this.pending
            .shift()
            ?.reject(
              new CaduceusError(
                'GitObjectMissing',
                `git object ${header.split(' ')[0]} is ${header.split(' ')[1] ?? 'unreadable'}`,
              ),
            );
          if (this.pending.length === 0) this.setRef(false);
          continue;
        }
        this.want = Number(m[3]);
      }
      // Content, then one newline.
      if (this.buffered < this.want + 1) return;
      const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
      const content = Buffer.from(all.subarray(0, this.want));
      const rest = all.subarray(this.want + 1);
      this.chunks = [rest];
      this.buffered = rest.length;
      this.want = undefined;
      this.pending.shift()?.resolve(content);
      if (this.pending.length === 0) this.setRef(false);
    }
  }
}
