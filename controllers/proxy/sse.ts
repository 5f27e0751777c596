// Server-sent events for chat.completion.chunk streams: headers, one `data:` line per
// JSON event, comment heartbeats while a long skill runs, and the final `data: [DONE]`.

import type { ServerResponse } from 'node:http';

export class SseWriter {
  private heartbeat: NodeJS.Timeout | undefined;
  private firstByteAt: number | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly onFirstByte?: () => void,
  ) {}

  open(headers: Record<string, string> = {}): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      ...headers,
    });
    // Flushes the headers now so clients see the stream start before the first event.
    this.res.flushHeaders();
  }

  /** Sends a comment line every `ms` so idle proxies and clients keep the stream open. */
  keepAlive(ms: number): void {
    this.heartbeat = setInterval(() => this.write(': keep-alive\n\n'), ms);
    this.heartbeat.unref();
  }

  /** A comment line (`: text`): clients skip it; people reading the stream see progress. */
  comment(text: string): void {
    this.write(`: ${text.replace(/[\r\n]+/g, ' ')}\n\n`);
  }

  event(data: unknown): void {
    this.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  done(): void {
    this.stopHeartbeat();
    this.write('data: [DONE]\n\n');
    this.res.end();
  }

  stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private write(text: string): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    if (this.firstByteAt === undefined) {
      this.firstByteAt = Date.now();
      this.onFirstByte?.();
    }
    this.res.write(text);
  }
}
