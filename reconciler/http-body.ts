// Reads an HTTP request body as raw bytes up to a cap: the one reader, and the one drain
// policy, of every route that takes a body (git webhook, gateway platforms, proxy). The
// bytes are kept exactly as sent, since signatures are computed over them.

import type { IncomingMessage } from 'node:http';

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/** An oversized body is drained up to this many times its cap (and never beyond 64 MiB), then the connection is cut. */
const DRAIN_FACTOR = 8;
const DRAIN_MAX = 64 * 1024 * 1024;

/**
 * Resolves with the body, or rejects with BodyTooLarge as soon as the cap is passed (a
 * declared content-length over the cap fails before any byte is read). The rest of an
 * oversized body is drained, not kept, so the client still reads the 413.
 */
export function readCappedBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      drain(req, limit);
      reject(new BodyTooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        drain(req, limit);
        reject(new BodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      // One chunk (the usual small body) is handed over without a copy.
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('the client closed the request before sending its whole body'));
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * Discards the rest of an oversized body so the client still reads the answer rather than
 * a reset, but only up to a bound: a sender that keeps streaming past it is cut off.
 */
function drain(req: IncomingMessage, limit: number): void {
  const bound = Math.min(limit * DRAIN_FACTOR, DRAIN_MAX);
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > bound) req.destroy();
  });
  // A reset after the cut is expected; without a listener it would be an uncaught error.
  req.on('error', () => {});
  req.resume();
}
