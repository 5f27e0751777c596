// The capped body reader on a real HTTP server on 127.0.0.1: a body within the cap comes
// back byte for byte; an oversized one is answered 413 while the rest is drained; a
// sender that keeps streaming far past the cap has its connection cut.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BodyTooLarge, readCappedBody } from '../../reconciler/http-body.js';
import { sendJson } from '../../reconciler/http-json.js';

const LIMIT = 1024;
let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** Echoes the body's length, or 413 with the reader's message. */
async function start(): Promise<number> {
  const s = createServer((req, res) => {
    readCappedBody(req, LIMIT).then(
      (body) => sendJson(res, 200, { bytes: body.length, head: body.toString('latin1').slice(0, 8) }),
      (err: unknown) =>
        err instanceof BodyTooLarge ? sendJson(res, 413, { error: err.message }) : sendJson(res, 400, {}),
    );
  });
  server = s;
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as AddressInfo).port;
}

describe('capped request body', () => {
  it('returns a body within the cap byte for byte', async () => {
    const port = await start();
    const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x'.repeat(LIMIT) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ bytes: LIMIT, head: 'xxxxxxxx' });
  });

  it('answers 413 to a body over the cap, whether declared or streamed', async () => {
    const port = await start();
    const declared = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x'.repeat(LIMIT + 1) });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual({ error: `request body larger than ${LIMIT} bytes` });
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 3; i++) c.enqueue(new Uint8Array(LIMIT).fill(120));
        c.close();
      },
    });
    const streamed = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: chunks, duplex: 'half' });
    expect(streamed.status).toBe(413);
  });

  it('cuts the connection of a sender that keeps streaming past the drain bound', async () => {
    const port = await start();
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    let answer = '';
    socket.on('data', (b: Buffer) => {
      answer += b.toString('latin1');
    });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => {}); // the cut may reach us as a reset
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = `${(4096).toString(16)}\r\n${'x'.repeat(4096)}\r\n`;
    let sent = 0;
    let open = true;
    void closed.then(() => {
      open = false;
    });
    // 64 MiB would be drained for ever by a reader without a bound; this one stops at 8 KiB.
    while (open && sent < 64 * 1024 * 1024) {
      if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r).once('close', r));
      sent += 4096;
    }
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
  });
});
