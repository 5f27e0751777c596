// Reads a request body up to limits.maxBodyBytes and parses it as a JSON object. Over the
// limit the rest is drained (not kept) so the client still reads our 413 instead of a reset.

import type { IncomingMessage } from 'node:http';
import { badRequest, tooLarge } from './openai-errors.js';

/** Past this many discarded bytes the connection is cut instead of drained. */
const DRAIN_CAP = 64 * 1024 * 1024;

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    drain(req);
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        drain(req);
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    };
    const onEnd = (): void => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });
}

function drain(req: IncomingMessage): void {
  let discarded = 0;
  req.on('data', (c: Buffer) => {
    discarded += c.length;
    if (discarded > DRAIN_CAP) req.destroy();
  });
  req.resume();
}

export function parseJsonObject(buf: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw badRequest(
      `We could not parse the JSON body of your request: ${(err as Error).message}. Send a JSON object with Content-Type: application/json.`,
      null,
      'invalid_json',
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('The request body must be a JSON object.', null, 'invalid_json');
  }
  return value as Record<string, unknown>;
}
