// The Proxy controller. One reconcile is the story of one Proxy resource:
//   security checks → resolve keys (fail closed) → read TLS → upstream → swap the live
//   configuration → make sure a listener is bound where the spec says (move and drain, or
//   restart a dead one) → status. It requeues itself every resync interval, which heals a
//   dead listener, re-reads file-based keys and reloads changed TLS files. Each accepted
//   snapshot is compared with what MCP clients were told, and a changed tool list is sent.

import type {
  Controller,
  ControllerDeps,
  Observed,
  Reason,
  ReconcileContext,
  ReconcileResult,
  Registration,
  Resource,
} from '../../reconciler/types.js';
import { splitKey } from '../../reconciler/types.js';
import { isTerminal } from '../../reconciler/reasons.js';
import type { ProxySpec, SecretRef } from '../../reconciler/specs.js';
import { ensureGeneratedSecret } from '../../reconciler/generated-secrets.js';
import { CaduceusError, errorMessage } from '../../reconciler/errors.js';
import { resolveSecret } from '../../reconciler/secrets.js';
import { parseDuration } from '../../reconciler/duration.js';
import { keyEntry, type KeyEntry } from './auth.js';
import { Listener } from './listener.js';
import { readTls, type TlsMaterial } from './tls.js';
import type { Upstream } from './upstream.js';
import { TokenBucketLimiter } from './token-bucket.js';
import { createHandler } from './handler.js';
import { proxyMetrics, type ProxyMetrics } from './metrics.js';
import type { ProxyState } from './context.js';
import { isLoopback } from './bind.js';
import { LazyMcpSessions } from './mcp/lazy-sessions.js';
import { RunGate } from './mcp/run-gate.js';
import type { Snapshot } from '../../reconciler/types.js';

export interface ProxyControllerOptions {
  /** Reconcile again after this long to heal drift and re-read keys and TLS files (default 30 s). */
  resyncMs?: number;
  /** Longest wait for in-flight requests on a moved or stopped listener (default 30 s). */
  drainCapMs?: number;
  /** Retry interval while the port is taken (default 5 s). */
  portRetryMs?: number;
}

interface Instance {
  name: string;
  state: ProxyState | undefined;
  listener: Listener | undefined;
  /** bind|port|tls files: a change means a new listener. */
  listenKey: string | undefined;
  tlsFingerprint: string | undefined;
  keysDigest: string | undefined;
  limiter: TokenBucketLimiter;
  handler: ReturnType<typeof createHandler>;
  mcp: LazyMcpSessions;
}

/** The controller for kind Proxy; it owns its listeners, so stopping it closes them. */
export function register(deps: ControllerDeps, opts: ProxyControllerOptions = {}): Registration {
  const controller = new ProxyController(deps, opts);
  return { controllers: [controller], stop: () => controller.stop() };
}

export class ProxyController implements Controller {
  readonly kind = 'Proxy' as const;
  private readonly instances = new Map<string, Instance>();
  private readonly draining = new Set<Promise<void>>();
  private readonly metrics: ProxyMetrics;
  private readonly resyncMs: number;
  private readonly drainCapMs: number;
  private readonly portRetryMs: number;
  private stopped = false;
  /** MCP tool calls of every Proxy count against the Runtime's limits together. */
  private readonly gate = new RunGate();
  private readonly unwatch: (() => void) | undefined;

  constructor(
    private readonly deps: ControllerDeps,
    opts: ProxyControllerOptions = {},
  ) {
    this.metrics = proxyMetrics(deps.metrics);
    this.resyncMs = opts.resyncMs ?? 30_000;
    this.drainCapMs = opts.drainCapMs ?? 30_000;
    this.portRetryMs = opts.portRetryMs ?? 5_000;
    this.unwatch = deps.watchSnapshot?.((snap) => {
      for (const inst of this.instances.values()) this.tellToolChanges(inst, snap);
    });
  }

  async reconcile(
    ctx: ReconcileContext,
    desired: Resource | undefined,
    _observed: Observed,
  ): Promise<ReconcileResult | undefined> {
    const { name } = splitKey(ctx.key);
    if (!desired) {
      await this.teardown(name, this.drainCapMs);
      return;
    }
    const spec = (desired as Resource<'Proxy'>).spec;
    const inst = this.instance(name, spec);

    const inputs = this.readInputs(spec);
    if ('reason' in inputs) return this.failClosed(ctx, inst, inputs.reason, inputs.message);
    const { keys, upstreamKey, tls, generated } = inputs;
    for (const g of generated.filter((x) => x.created))
      ctx.event('Normal', 'KeyGenerated', `generated client key ${g.name} in ${g.file} (mode 0600)`);

    const upstream = await this.syncUpstream(inst, spec, upstreamKey);
    this.rotateKeys(ctx, inst, keys);
    inst.limiter.setLimit(spec.limits.requestsPerMinute);
    inst.state = { name, spec, keys, upstream };
    this.tellToolChanges(inst, this.deps.snapshot());

    const bound = await this.ensureListener(ctx, inst, spec, tls);
    if (!bound.ok) {
      // A move that cannot bind leaves the previous listener serving: say so rather than hide it.
      const previous = inst.listener?.listening ? inst.listener.url(spec.bind) : null;
      ctx.setCondition(
        'Ready',
        'False',
        bound.reason,
        previous ? `${bound.message}; still serving the previous address ${previous}` : bound.message,
      );
      ctx.setObserved({ address: previous, listening: previous !== null });
      return { requeueAfter: this.portRetryMs };
    }
    const address = bound.listener.url(spec.bind);
    ctx.setObserved({
      address,
      listening: true,
      tls: tls !== undefined,
      keys: keys.map((k) => k.id),
      generatedKeys: generated.map(({ name, file }) => ({ name, file })),
      upstream: spec.upstream ? safeURL(spec.upstream.baseURL) : null,
      preload: spec.preload,
      injectSkills: spec.injectSkills,
      draining: this.draining.size,
      mcp: spec.mcp.enabled ? `${address}/mcp` : null,
      mcpSessions: inst.mcp.size,
    });
    ctx.setCondition(
      'Ready',
      'True',
      'Listening',
      `serving ${address} with ${keys.length} key(s)` +
        (spec.upstream ? `, forwarding other models to ${safeURL(spec.upstream.baseURL)}` : ''),
    );
    return { requeueAfter: this.resyncMs };
  }

  /**
   * Everything the spec refers to outside git, checked before anything serves: the bind
   * policy, every key reference (fail closed on one unset), the upstream key, TLS files.
   */
  private readInputs(spec: ProxySpec):
    | {
        keys: KeyEntry[];
        upstreamKey: string | undefined;
        generated: Array<{ name: string; file: string; created: boolean }>;
        tls: TlsMaterial | undefined;
      }
    | { reason: Reason; message: string } {
    if (!isLoopback(spec.bind) && !spec.tls && !spec.allowPublicBind) {
      return {
        reason: 'PublicBindWithoutTLS',
        message:
          `bind ${spec.bind} is not loopback and no tls is set: configure spec.tls, ` +
          'or set allowPublicBind: true to serve plain HTTP on purpose',
      };
    }
    if (spec.keys.length === 0)
      return {
        reason: 'KeysUnset',
        message: 'spec.keys is empty: add at least one key reference; the proxy has no unauthenticated mode',
      };
    let keys: KeyEntry[];
    let upstreamKey: string | undefined;
    const generated: Array<{ name: string; file: string; created: boolean }> = [];
    try {
      keys = spec.keys.map((ref, i) => {
        if (!('generated' in ref.valueFrom))
          return keyEntry(ref, resolveSecret(ref as SecretRef, this.secretOpts()), i);
        const g = ensureGeneratedSecret(this.deps.stateDir, ref.valueFrom.generated);
        generated.push({ name: ref.valueFrom.generated, file: g.file, created: g.created });
        return keyEntry(ref, g.value, i);
      });
      upstreamKey = spec.upstream?.apiKey ? resolveSecret(spec.upstream.apiKey, this.secretOpts()) : undefined;
    } catch (err) {
      if (err instanceof CaduceusError && err.code === 'SecretUnset') {
        return {
          reason: 'SecretUnset',
          message: `${err.describe()}; the proxy serves nothing until every key reference is set`,
        };
      }
      throw err;
    }
    try {
      return { keys, upstreamKey, generated, tls: spec.tls ? readTls(spec.tls, this.deps.configDir) : undefined };
    } catch (err) {
      return { reason: 'TLSFileUnreadable', message: errorMessage(err) };
    }
  }

  /** The live listener of a Proxy (tests and `proxy test` reach it through status instead). */
  listenerOf(name: string): Listener | undefined {
    return this.instances.get(name)?.listener;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unwatch?.();
    const cap = Math.min(this.drainCapMs, 5_000);
    await Promise.allSettled([...this.instances.keys()].map((n) => this.teardown(n, cap)));
    await Promise.allSettled([...this.draining]);
  }

  private instance(name: string, spec: ProxySpec): Instance {
    let inst = this.instances.get(name);
    if (!inst) {
      const limiter = new TokenBucketLimiter(spec.limits.requestsPerMinute);
      const created: Instance = {
        name,
        state: undefined,
        listener: undefined,
        listenKey: undefined,
        tlsFingerprint: undefined,
        keysDigest: undefined,
        limiter,
        handler: () => undefined,
        mcp: new LazyMcpSessions(
          {
            snapshot: () => this.deps.snapshot(),
            runner: this.deps.runner,
            gate: this.gate,
            tasks: () => created.state?.spec.mcp.tasks ?? false,
          },
          this.deps.log.child({ component: 'mcp', proxy: name }),
        ),
      };
      created.handler = createHandler({
        mcp: created.mcp,
        current: () => created.state,
        limiter,
        snapshot: () => this.deps.snapshot(),
        runner: this.deps.runner,
        log: this.deps.log.child({ component: 'proxy', proxy: name }),
        metrics: this.metrics,
      });
      inst = created;
      this.instances.set(name, inst);
    }
    return inst;
  }

  /** Sends tools/list_changed to this Proxy's MCP clients when the tools differ from what they saw. */
  private tellToolChanges(inst: Instance, snap: Snapshot): void {
    if (!inst.state) return;
    inst.mcp.toolsMaybeChanged(snap);
  }

  private secretOpts(): { baseDir?: string } {
    return this.deps.configDir ? { baseDir: this.deps.configDir } : {};
  }

  private rotateKeys(ctx: ReconcileContext, inst: Instance, keys: KeyEntry[]): void {
    const digest = keys.map((k) => k.digest.toString('hex')).join(',');
    if (inst.keysDigest !== undefined && inst.keysDigest !== digest) {
      ctx.event(
        'Normal',
        'KeysRotated',
        `proxy keys changed (${keys.map((k) => k.id).join(', ')}); applied without a restart`,
      );
    }
    inst.keysDigest = digest;
  }

  private async syncUpstream(
    inst: Instance,
    spec: ProxySpec,
    apiKey: string | undefined,
  ): Promise<Upstream | undefined> {
    const current = inst.state?.upstream;
    const want = spec.upstream;
    if (current && want && current.baseURL === want.baseURL) {
      current.setApiKey(apiKey);
      current.timeoutMs = parseDuration(want.timeout);
      return current;
    }
    // undici is loaded with the first proxy that forwards to an upstream, before the old
    // pool is closed: requests keep using it until the new state is in place.
    const made = want
      ? new (await import('./upstream.js')).Upstream(
          want.baseURL,
          apiKey,
          parseDuration(want.timeout),
          this.deps.log.child({ component: 'proxy', proxy: inst.name }),
        )
      : undefined;
    // A different upstream: the old pool finishes its requests in the background.
    if (current) void current.close();
    return made;
  }

  private async ensureListener(
    ctx: ReconcileContext,
    inst: Instance,
    spec: ProxySpec,
    tls: TlsMaterial | undefined,
  ): Promise<{ ok: true; listener: Listener } | { ok: false; reason: Reason; message: string }> {
    const key = `${spec.bind}|${spec.port}|${spec.tls ? `${spec.tls.cert}|${spec.tls.key}` : 'plain'}`;
    const old = inst.listener;
    if (old?.listening && inst.listenKey === key) {
      if (tls && inst.tlsFingerprint !== tls.fingerprint) {
        old.reloadTls(tls);
        inst.tlsFingerprint = tls.fingerprint;
        ctx.event('Normal', 'TLSReloaded', `TLS certificate reloaded from ${spec.tls?.cert}`);
      }
      return { ok: true, listener: old };
    }
    if (old && !old.listening)
      ctx.event('Warning', 'ListenerDied', `listener ${old.url(spec.bind)} was not listening; starting a new one`);

    // Same port: the old socket must let go first. Another port: bind the new one first, so
    // there is no moment without a listener.
    const samePort = old !== undefined && spec.port !== 0 && old.port === spec.port;
    if (old && samePort) this.drainInBackground(old);
    const next = new Listener(inst.handler, tls, this.deps.log.child({ component: 'proxy', proxy: inst.name }));
    try {
      await next.listen(spec.bind, spec.port);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (old && !samePort && !old.listening) {
        this.drainInBackground(old);
        inst.listener = undefined;
      }
      if (samePort) inst.listener = undefined;
      const where = `${spec.bind}:${spec.port}`;
      if (code === 'EADDRINUSE')
        return {
          ok: false,
          reason: 'PortInUse',
          message:
            `${where} is in use by another process; retrying every ${this.portRetryMs / 1000} s ` +
            '(free the port or change spec.port)',
        };
      if (code === 'EACCES')
        return {
          ok: false,
          reason: 'PortNotPermitted',
          message: `not permitted to bind ${where}: use a port above 1023 or grant the capability`,
        };
      if (code === 'EADDRNOTAVAIL')
        return {
          ok: false,
          reason: 'BindAddressUnavailable',
          message: `${spec.bind} is not an address of this machine: fix spec.bind`,
        };
      return { ok: false, reason: 'ListenFailed', message: `cannot listen on ${where}: ${(err as Error).message}` };
    }
    inst.listener = next;
    inst.listenKey = key;
    inst.tlsFingerprint = tls?.fingerprint;
    if (old && !samePort) this.drainInBackground(old);
    ctx.event(
      'Normal',
      old ? 'ListenerMoved' : 'ListenerStarted',
      old
        ? `now serving ${next.url(spec.bind)}; the previous listener drains its in-flight requests`
        : `serving ${next.url(spec.bind)}`,
    );
    return { ok: true, listener: next };
  }

  private drainInBackground(l: Listener, capMs = this.drainCapMs): Promise<void> {
    const p = l.drain(capMs).finally(() => this.draining.delete(p));
    this.draining.add(p);
    return p;
  }

  /** Stops serving (a listener keeps draining what it already accepted) and reports why. */
  private failClosed(ctx: ReconcileContext, inst: Instance, reason: Reason, message: string): ReconcileResult {
    const upstream = inst.state?.upstream;
    inst.state = undefined;
    if (upstream) void upstream.close();
    void inst.mcp.close();
    if (inst.listener) {
      this.drainInBackground(inst.listener);
      ctx.event('Warning', 'ListenerStopped', `proxy stopped serving: ${reason}`);
    }
    inst.listener = undefined;
    inst.listenKey = undefined;
    ctx.setObserved({ address: null, listening: false });
    // A public bind without TLS or an empty key list is what the spec says: stalled until it changes.
    if (isTerminal(reason)) return { terminal: { reason, message } };
    ctx.setCondition('Ready', 'False', reason, message);
    // Secrets in files and TLS files can appear without a commit: look again at the resync.
    return { requeueAfter: this.resyncMs };
  }

  private async teardown(name: string, capMs: number): Promise<void> {
    const inst = this.instances.get(name);
    if (!inst) return;
    this.instances.delete(name);
    const upstream = inst.state?.upstream;
    inst.state = undefined;
    const l = inst.listener;
    inst.listener = undefined;
    // Open MCP streams would hold the listener until the drain cap.
    await inst.mcp.close();
    if (l) await this.drainInBackground(l, capMs);
    if (upstream) await upstream.close();
  }
}

function safeURL(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
