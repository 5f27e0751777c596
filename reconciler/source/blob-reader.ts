// Reads git blobs through one long-lived `git cat-file --batch` process per repository,
// so loading a 10,000-file revision costs one process, not 10,000. Requests are answered
// in order; the process is started on first use and restarted if it dies. Requests made
// in one turn of the event loop go to git in one write, not one write (and wake-up) each.

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
  /** Object ids asked for in this turn and not yet written to git. */
  private outbox = '';

  /** `gitDir` is a repository (bare or not) that git can be run in. */
  constructor(private readonly gitDir: string) {}

  read(sha: string): Promise<Buffer> {
    if (this.closed) return Promise.reject(new CaduceusError('GitSourceClosed', 'the git source was stopped'));
    if (!/^[0-9a-f]{40,64}$/.test(sha))
      return Promise.reject(new CaduceusError('GitBadObject', `not an object id: ${sha}`));
    return new Promise((resolve, reject) => {
      this.process();
      this.pending.push({ sha, resolve, reject });
      // A process with work in flight keeps Node alive; an idle one must not (plan, tests).
      if (this.pending.length === 1) this.setRef(true);
      if (this.outbox === '') queueMicrotask(() => this.flush());
      this.outbox += `${sha}\n`;
    });
  }

  private flush(): void {
    const ids = this.outbox;
    this.outbox = '';
    // Empty when the process died meanwhile: those requests were answered with its failure.
    if (ids !== '' && this.child) this.child.stdin.write(ids);
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
    this.outbox = '';
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  /**
   * Answers requests from git's output: `<id> <type> <size>` NL content NL, or `<id> missing`.
   * Objects are cut out of the chunks as views, without copies: a chunk is a buffer of its
   * own that nothing else writes. Only an object split across chunks is joined.
   */
  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    // Waiting for the rest of a large object: nothing to join yet.
    if (this.want !== undefined && this.buffered < this.want + 1) return;
    const data = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.buffered);
    let pos = 0;
    for (;;) {
      if (this.want === undefined) {
        const nl = data.indexOf(10, pos);
        if (nl < 0) break;
        const header = data.toString('latin1', pos, nl);
        pos = nl + 1;
        const space = header.lastIndexOf(' ');
        const size = Number(header.slice(space + 1));
        if (header.indexOf(' ') === space || !Number.isInteger(size)) {
          // `<id> missing` (or `ambiguous`): answer this request and go on.
          const [id, what] = header.split(' ');
          this.pending
            .shift()
            ?.reject(new CaduceusError('GitObjectMissing', `git object ${id} is ${what ?? 'unreadable'}`));
          if (this.pending.length === 0) this.setRef(false);
          continue;
        }
        this.want = size;
      }
      // Content, then one newline.
      if (data.length - pos < this.want + 1) break;
      const content = data.subarray(pos, pos + this.want);
      pos += this.want + 1;
      this.want = undefined;
      this.pending.shift()?.resolve(content);
      if (this.pending.length === 0) this.setRef(false);
    }
    const rest = data.subarray(pos);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
  }
}
