// A loopback HTTP server for forge tests: records every request exactly (method, path
// with query, headers, JSON body) and answers through a handler that speaks the forge's
// documented REST shapes.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export type Handler = (req: Recorded) => { status: number; body?: unknown };

export interface ForgeServer {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

export async function startForgeServer(handler: Handler): Promise<ForgeServer> {
  const requests: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const rec: Recorded = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: text ? (JSON.parse(text) as unknown) : undefined,
      };
      requests.push(rec);
      let out: { status: number; body?: unknown };
      try {
        out = handler(rec);
      } catch (err) {
        out = { status: 500, body: { message: (err as Error).message } };
      }
      res.writeHead(out.status, { 'content-type': 'application/json' });
      res.end(out.body === undefined ? '' : JSON.stringify(out.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The request without volatile headers, for exact comparisons. */
export function summary(
  r: Recorded,
  headerNames: string[],
): { method: string; path: string; headers: Record<string, string | undefined>; body: unknown } {
  return {
    method: r.method,
    path: r.path,
    headers: Object.fromEntries(headerNames.map((h) => [h, r.headers[h] as string | undefined])),
    body: r.body,
  };
}
