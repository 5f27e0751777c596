// Reads a request body up to limits.maxBodyBytes (the core's capped reader: over the
// limit the rest is drained, not kept, so the client still reads our 413) and parses it
// as a JSON object, each failure in OpenAI's error shape.

import type { IncomingMessage } from 'node:http';
import { BodyTooLarge, readCappedBody } from '../../reconciler/http-body.js';
import { badRequest, tooLarge } from './openai-errors.js';

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  try {
    return await readCappedBody(req, limit);
  } catch (err) {
    throw err instanceof BodyTooLarge ? tooLarge(limit) : err;
  }
}

export function parseJsonObject(buf: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw badRequest(
      `We could not parse the JSON body of your request: ${(err as Error).message}. ` +
        'Send a JSON object with Content-Type: application/json.',
      null,
      'invalid_json',
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('The request body must be a JSON object.', null, 'invalid_json');
  }
  return value as Record<string, unknown>;
}
