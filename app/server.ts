// The HTTP server of `caduceus up`: health, readiness, Prometheus metrics, status JSON,
// the git webhook and the routes controllers mount (the gateway's platform webhooks).

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from '../reconciler/prom-metrics.js';
import type { HttpRoute, Logger } from '../reconciler/types.js';
import { CaduceusError, errorMessage } from '../reconciler/errors.js';
import { sendJson } from '../reconciler/http-json.js';

export interface ServerOptions {
  listen: string;
  routes: HttpRoute[];
  metrics: Registry;
  /** Called before each scrape of /metrics (registers what is loaded lazily). */
  beforeScrape?(): void;
  ready(): boolean;
  /** Why the process is not ready, when it is something other than waiting for the first revision. */
  notReady?(): string | undefined;
  status(): unknown;
  log: Logger;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen must be HOST:PORT, got "${listen}"`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) };
}

/** A failed bind as a person would want to read it, with what to do next. */
function listenError(err: NodeJS.ErrnoException, listen: string): Error {
  const hint = 'choose another address with --listen HOST:PORT (port 0 picks a free one)';
  if (err.code === 'EADDRINUSE')
    return new CaduceusError('ListenAddressInUse', `${listen} is already in use (another caduceus up?)`, { hint });
  if (err.code === 'EACCES')
    return new CaduceusError('ListenNotPermitted', `not permitted to listen on ${listen}`, {
      hint: `use a port above 1023, or ${hint}`,
    });
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND')
    return new CaduceusError('ListenAddressUnavailable', `${listen} is not an address of this machine`, { hint });
  return err;
}

function match(routes: HttpRoute[], req: IncomingMessage): HttpRoute | undefined {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  return routes.find(
    (r) => r.method === req.method && (r.path.endsWith('/') ? path.startsWith(r.path) : path === r.path),
  );
}

export async function startServer(
  opts: ServerOptions,
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const builtin: HttpRoute[] = [
    {
      method: 'GET',
      path: '/healthz',
      handler: (_q, s) => {
        s.writeHead(200, { 'content-type': 'text/plain' });
        s.end('ok\n');
      },
    },
    {
      method: 'GET',
      path: '/readyz',
      handler: (_q, s) => {
        const ok = opts.ready();
        s.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
        s.end(ok ? 'ready\n' : `${opts.notReady?.() ?? 'waiting for the first revision to be applied'}\n`);
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      handler: async (_q, s) => {
        opts.beforeScrape?.();
        const body = await opts.metrics.metrics();
        s.writeHead(200, { 'content-type': opts.metrics.contentType });
        s.end(body);
      },
    },
    { method: 'GET', path: '/status', handler: (_q, s) => sendJson(s, 200, opts.status(), { pretty: true }) },
  ];
  // opts.routes is read on every request: a replica that becomes leader mounts its
  // controllers' routes after the server started.
  const server = createServer((req, res) => {
    const route = match(builtin, req) ?? match(opts.routes, req);
    if (!route) return sendJson(res, 404, { error: `no route for ${req.method} ${req.url}` }, { pretty: true });
    Promise.resolve(route.handler(req, res)).catch((err: unknown) => {
      opts.log.error('request failed', { path: req.url, error: errorMessage(err) });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' }, { pretty: true });
      else res.destroy();
    });
  });
  const { host, port } = parseListen(opts.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, opts.listen)));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
