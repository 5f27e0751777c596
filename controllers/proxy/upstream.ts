// The upstream an ordinary model is forwarded to: one undici Pool per origin with
// keep-alive, the upstream key swapped in for the client's, timeouts mapped to 504, and a
// short cache of the upstream's model list for GET /v1/models.

import { Pool, errors as undiciErrors } from 'undici';
import type { Dispatcher } from 'undici';
import type { EventEmitter } from 'node:events';
import { ProxyHttpError, upstreamTimeout, upstreamUnavailable } from './openai-errors.js';
import type { Logger } from '../../reconciler/types.js';

export interface UpstreamModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

const MODELS_TTL_MS = 30_000;

export interface UpstreamRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: Buffer | string;
  requestId: string;
  accept?: string;
}

export class Upstream {
  readonly pool: Pool;
  readonly origin: string;
  private readonly basePath: string;
  private authorization: string | undefined;
  private models: { at: number; data: UpstreamModel[] } | undefined;
  private modelIds: ReadonlySet<string> = new Set();
  private refreshing = false;
  /** When the label path last asked for the list: an unreachable upstream is asked once per TTL. */
  private lastRefresh = 0;

  constructor(
    readonly baseURL: string,
    apiKey: string | undefined,
    public timeoutMs: number,
    private readonly log: Logger,
  ) {
    const u = new URL(baseURL);
    this.origin = u.origin;
    this.basePath = u.pathname.replace(/\/+$/, '');
    this.setApiKey(apiKey);
    // Timeouts are per request (see request()), so a changed upstream.timeout applies at once.
    this.pool = new Pool(this.origin, { connections: 256, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
  }

  setApiKey(apiKey: string | undefined): void {
    this.authorization = apiKey ? `Bearer ${apiKey}` : undefined;
  }

  private options(opts: UpstreamRequest): Dispatcher.DispatchOptions & { headersTimeout: number; bodyTimeout: number } {
    const headers: Record<string, string> = {
      accept: opts.accept ?? 'application/json',
      'x-request-id': opts.requestId,
    };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (this.authorization) headers.authorization = this.authorization;
    return {
      method: opts.method,
      path: this.basePath + opts.path,
      headers,
      body: opts.body ?? null,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    };
  }

  /** Sends one request; maps timeouts to 504 and connection failures to 502. */
  async request(opts: UpstreamRequest & { signal?: AbortSignal | EventEmitter }): Promise<Dispatcher.ResponseData> {
    try {
      return await this.pool.request({ ...this.options(opts), ...(opts.signal ? { signal: opts.signal } : {}) });
    } catch (err) {
      throw this.mapError(err);
    }
  }

  /**
   * Sends one request and hands the answer to `handler` as undici parses it, with no body
   * stream or promise per request: the forwarding hot path. Failures reach
   * handler.onResponseError unmapped (see mapError).
   */
  dispatch(opts: UpstreamRequest, handler: Dispatcher.DispatchHandler): void {
    this.pool.dispatch(this.options(opts), handler);
  }

  mapError(err: unknown): unknown {
    if (
      err instanceof undiciErrors.HeadersTimeoutError ||
      err instanceof undiciErrors.BodyTimeoutError ||
      err instanceof undiciErrors.ConnectTimeoutError
    ) {
      return upstreamTimeout(this.timeoutMs);
    }
    if (err instanceof ProxyHttpError || (err instanceof Error && err.name === 'AbortError')) return err;
    const code = (err as { code?: string }).code;
    return upstreamUnavailable(code ?? (err instanceof Error ? err.message : String(err)));
  }

  /** The upstream's models, cached briefly; an unreachable upstream yields none (logged). */
  async listModels(requestId: string): Promise<UpstreamModel[]> {
    if (this.models && Date.now() - this.models.at < MODELS_TTL_MS) return this.models.data;
    try {
      const res = await this.request({ method: 'GET', path: '/models', requestId });
      const text = await res.body.text();
      if (res.statusCode < 200 || res.statusCode >= 300) {
        this.log.warn('upstream model list failed', { status: res.statusCode });
        return [];
      }
      const parsed = JSON.parse(text) as { data?: unknown };
      const data = Array.isArray(parsed.data)
        ? (parsed.data.filter((m) => m && typeof (m as UpstreamModel).id === 'string') as UpstreamModel[])
        : [];
      this.models = { at: Date.now(), data };
      this.modelIds = new Set(data.map((m) => m.id));
      return data;
    } catch (err) {
      this.log.warn('upstream model list failed', { error: err instanceof Error ? err.message : String(err) });
      return [];
    }
  }

  /**
   * Ids of the models the upstream listed (for the bounded `model` metric label). When the
   * list is missing or old it is fetched in the background; until then the set is what we had.
   */
  knownModelIds(): ReadonlySet<string> {
    const now = Date.now();
    if ((!this.models || now - this.models.at >= MODELS_TTL_MS) && now - this.lastRefresh >= MODELS_TTL_MS) {
      if (!this.refreshing) {
        this.refreshing = true;
        this.lastRefresh = now;
        void this.listModels('caduceus-model-labels').finally(() => {
          this.refreshing = false;
        });
      }
    }
    return this.modelIds;
  }

  /** Lets in-flight requests finish, then closes the pool's sockets. */
  async close(): Promise<void> {
    await this.pool.close().catch(() => undefined);
  }
}
