// A capped tail buffer for a process's combined stdout/stderr: it keeps the last
// `limit` bytes and only counts the rest, so a 100 MB flood costs `limit` bytes of memory.

export class OutputBuffer {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Bytes received beyond what is kept. */
  dropped = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer | string): void {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (buf.length >= this.limit) {
      // The new chunk alone fills the buffer: everything kept so far is dropped.
      this.dropped += this.kept + buf.length - this.limit;
      buf = Buffer.from(buf.subarray(buf.length - this.limit));
      this.chunks = this.limit > 0 ? [buf] : [];
      this.kept = buf.length;
      return;
    }
    this.chunks.push(buf);
    this.kept += buf.length;
    while (this.kept > this.limit) {
      const first = this.chunks[0] as Buffer;
      const excess = this.kept - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.kept -= first.length;
        this.dropped += first.length;
      } else {
        // Copy so the large original chunk can be garbage-collected.
        this.chunks[0] = Buffer.from(first.subarray(excess));
        this.kept -= excess;
        this.dropped += excess;
      }
    }
  }

  get bytesKept(): number {
    return this.kept;
  }

  toString(): string {
    return Buffer.concat(this.chunks, this.kept).toString('utf8');
  }
}

/**
 * Splits streamed output into lines for live progress, with each line (and a partial line
 * without a newline) capped so a flood without newlines cannot grow it.
 */
export class LineSplitter {
  private partial = '';

  constructor(
    private readonly emit: (line: string) => void,
    private readonly maxLine = 1000,
  ) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    const lines = text.split('\n');
    this.partial = (lines.pop() ?? '').slice(-this.maxLine);
    for (const line of lines) this.emit(line.length > this.maxLine ? `${line.slice(0, this.maxLine)}…` : line);
  }

  flush(): void {
    if (this.partial) this.emit(this.partial);
    this.partial = '';
  }
}
