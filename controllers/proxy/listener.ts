// One bound socket of a Proxy: node:http, or node:https with a reloadable secure context.
// It counts requests in flight so a moved or stopped listener can drain: stop accepting,
// let running requests finish (closing keep-alive sockets as they go idle), cut the rest
// after a cap.

import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TlsMaterial } from './tls.js';
import type { Logger } from '../../reconciler/types.js';

export class Listener {
  readonly server: Server;
  readonly tls: boolean;
  private inflight = 0;
  private draining = false;
  private drained: Promise<void> | undefined;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(handler: (req: IncomingMessage, res: ServerResponse) => void, tls: TlsMaterial | undefined, log: Logger) {
    const wrapped = (req: IncomingMessage, res: ServerResponse): void => {
      this.inflight++;
      if (this.draining) res.setHeader('connection', 'close');
      res.once('close', () => {
        this.inflight--;
        // The socket goes idle only after the response is fully processed.
        if (this.draining) setImmediate(() => this.server.closeIdleConnections());
        if (this.inflight === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
      handler(req, res);
    };
    this.tls = tls !== undefined;
    this.server = tls ? createHttps({ cert: tls.cert, key: tls.key }, wrapped) : createHttp(wrapped);
    // Streams of long skills may stay open for minutes; the request itself must still arrive in time.
    this.server.keepAliveTimeout = 5_000;
    this.server.on('error', (err) => log.warn('proxy listener error', { error: err.message }));
    this.server.on('clientError', (err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      else socket.destroy(err);
    });
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port, exclusive: true }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
  }

  get listening(): boolean {
    return this.server.listening && !this.draining;
  }

  get inFlight(): number {
    return this.inflight;
  }

  get port(): number | undefined {
    const a = this.server.address() as AddressInfo | null;
    return a?.port;
  }

  url(bind: string): string {
    const a = this.server.address() as AddressInfo | null;
    const host = a ? a.address : bind;
    return `${this.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${a?.port ?? '?'}`;
  }

  reloadTls(tls: TlsMaterial): void {
    (this.server as unknown as import('node:tls').Server).setSecureContext({ cert: tls.cert, key: tls.key });
  }

  /** Stops accepting at once; resolves when in-flight requests ended or capMs passed. */
  drain(capMs: number): Promise<void> {
    if (this.drained) return this.drained;
    this.draining = true;
    this.drained = new Promise<void>((resolve) => {
      const cap = setTimeout(() => this.server.closeAllConnections(), capMs);
      cap.unref();
      const done = (): void => {
        clearTimeout(cap);
        resolve();
      };
      if (this.server.listening) this.server.close(() => done());
      else if (this.inflight === 0) {
        this.server.closeAllConnections();
        done();
      } else {
        // Already closed by someone else: wait for its requests, then drop its sockets.
        this.idleWaiters.push(() => {
          this.server.closeAllConnections();
          done();
        });
      }
      this.server.closeIdleConnections();
    });
    return this.drained;
  }
}
