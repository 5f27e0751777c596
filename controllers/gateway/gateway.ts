// The gateway at request time. One request's story, top to bottom:
//   platform bound? → raw body (capped) → signature → replay → envelope → who (whitelist,
//   channel) → rate limit → command → permission → answer now, or queue the work →
//   (later) authorise again against the current policy → run (a task, a skill, the agent)
//   → reply with retries. post() serves the other direction: results sent to a channel.
// Every decision is audited. The bindings (policy + started platforms) are replaced in one
// assignment by the controller, so a request sees either the old policy or the new one.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Counter } from 'prom-client';
import type {
  ControllerDeps,
  DeliveryTarget,
  HttpRoute,
  Reason,
  RunTrigger,
  Snapshot,
} from '../../reconciler/types.js';
import type { Platform } from '../../reconciler/specs.js';
import { RunStore } from '../../reconciler/state/runs.js';
import { CaduceusError, errorMessage } from '../../reconciler/errors.js';
import { redact } from '../../reconciler/secrets.js';
import { BodyTooLarge, readCappedBody } from '../../reconciler/http-body.js';
import { sendJson } from '../../reconciler/http-json.js';
import { registeredCounter } from '../../reconciler/metric-registry.js';
import { AuditStore, type NewAuditEntry } from './audit-store.js';
import { describeCommand, parseCommand, type Command } from './commands.js';
import { deliver, DEFAULT_DELIVERY, type DeliveryOptions } from './delivery.js';
import { formatAgentResult, formatSkillResult, formatTaskReport, helpText, statusText, truncate } from './format.js';
import { JobQueue } from './job-queue.js';
import { admit, allowedSummary, permit, PLATFORMS, type CompiledPolicy, type Refusal } from './policy.js';
import { SlidingWindowLimiter } from './sliding-window.js';
import { ReplayStore } from './replay.js';
import type { Inbound, Outcome, PlatformRuntime } from './platforms/types.js';

export interface GatewayOptions {
  /** Largest request body read (default 64 KiB); larger is a 413 before any parsing. */
  maxBodyBytes?: number;
  /** Gateway jobs running at once (default 4); the rest wait, then are authorised again. */
  concurrency?: number;
  /** Reply delivery: attempts and backoff (default 3 attempts, 500 ms doubling). */
  delivery?: Partial<DeliveryOptions>;
  /** Clock, for signature windows and rate limits. */
  now?: () => number;
}

export type BindingState =
  | { ready: true; runtime: PlatformRuntime }
  | { ready: false; reason: Reason; message: string };

/** One platform served under one policy. */
export interface Binding {
  platform: Platform;
  policy: CompiledPolicy;
  state: BindingState;
}

interface Job {
  platform: Platform;
  runtime: PlatformRuntime;
  message: Inbound;
  command: Extract<Command, { verb: 'run-task' | 'run-skill' | 'ask' }>;
  actor: string;
  policyName: string;
}

export const ENDPOINT_PREFIX = '/gateway/';
/**
 * How long a replay key is kept, per platform: longer than every signed-timestamp window
 * (5 min), so a replay is caught by one or the other; Telegram has no signed timestamp, so
 * its update ids are kept as long as Telegram retries (24 h).
 */
const REPLAY_TTL_MS: Record<Platform, number> = {
  slack: 15 * 60_000,
  discord: 15 * 60_000,
  webhook: 15 * 60_000,
  telegram: 25 * 3_600_000,
};
const STOP_GRACE_MS = 5000;

export class Gateway {
  readonly audit: AuditStore;
  private bindings: ReadonlyMap<Platform, Binding> = new Map();
  /** In the state store, so a restart does not forget them (keys are platform-prefixed). */
  private readonly replays: ReplayStore;
  /** In memory on purpose: a restart forgets the counts, which errs towards the user only. */
  private readonly limiter = new SlidingWindowLimiter();
  private readonly queue: JobQueue;
  private readonly abort = new AbortController();
  private readonly maxBody: number;
  private readonly delivery: DeliveryOptions;
  /** Immediate answers on their way through a platform's reply API (not queued work). */
  private readonly replies = new Set<Promise<void>>();
  private readonly now: () => number;
  private readonly requests: Counter<'platform' | 'decision'>;
  private runs: RunStore | undefined;

  constructor(
    private readonly deps: ControllerDeps,
    opts: GatewayOptions = {},
  ) {
    this.audit = new AuditStore(deps.store);
    this.queue = new JobQueue(opts.concurrency ?? 4);
    this.maxBody = opts.maxBodyBytes ?? 64 * 1024;
    this.delivery = { ...DEFAULT_DELIVERY, ...opts.delivery, signal: this.abort.signal };
    this.now = opts.now ?? Date.now;
    this.replays = new ReplayStore(deps.store, this.now());
    this.requests = registeredCounter(deps.metrics, {
      name: 'caduceus_gateway_requests_total',
      help: 'Gateway requests and outcomes by platform and decision',
      labelNames: ['platform', 'decision'] as const,
    });
  }

  routes(): HttpRoute[] {
    return PLATFORMS.map((p) => ({
      method: 'POST' as const,
      path: ENDPOINT_PREFIX + p,
      handler: (req: IncomingMessage, res: ServerResponse) => this.handle(p, req, res),
    }));
  }

  /** Replaces every binding `policyName` owns with `next`, in one assignment. */
  swap(policyName: string, next: Binding[]): void {
    const map = new Map<Platform, Binding>();
    for (const [p, b] of this.bindings) if (b.policy.name !== policyName) map.set(p, b);
    for (const b of next) map.set(b.platform, b);
    this.bindings = map;
  }

  /** Resolves once no queued or running work and no immediate reply is left (tests await it before counting runs). */
  async idle(): Promise<void> {
    await this.queue.idle();
    await Promise.allSettled([...this.replies]);
  }

  /** Stops serving at once, drops waiting work, cancels running work and waits (bounded) for it to end. */
  async stop(): Promise<void> {
    this.bindings = new Map();
    this.queue.stop();
    this.abort.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.queue.idle(), new Promise<void>((r) => (timer = setTimeout(r, STOP_GRACE_MS)))]);
    clearTimeout(timer);
  }

  // ---- one request ----

  async handle(platform: Platform, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const binding = this.bindings.get(platform);
    if (!binding) {
      req.resume();
      return sendJson(res, 404, { error: `gateway platform ${platform} is not configured in any GatewayPolicy` });
    }
    if (!binding.state.ready) {
      req.resume();
      return sendJson(res, 503, { error: `gateway platform ${platform} is not started: ${binding.state.message}` });
    }
    const { runtime } = binding.state;
    const policy = binding.policy;

    let body: Buffer;
    try {
      body = await readCappedBody(req, this.maxBody);
    } catch (err) {
      const tooLarge = err instanceof BodyTooLarge;
      return this.reject(
        res,
        platform,
        policy,
        tooLarge ? 413 : 400,
        tooLarge ? err.message : `could not read the body: ${errorMessage(err)}`,
        req,
      );
    }
    const now = this.now();
    const verdict = runtime.verify(req.headers, body, now);
    if (!verdict.ok) return this.reject(res, platform, policy, verdict.status, verdict.reason, req);
    let replayed: boolean;
    try {
      replayed = this.replays.checkAndRemember(verdict.replayKey, REPLAY_TTL_MS[platform], now);
    } catch (err) {
      // Fail closed: without a durable record of the key, the request could be replayed later.
      this.deps.log.error('gateway replay check failed', { platform, error: errorMessage(err) });
      return this.reject(res, platform, policy, 503, 'replay check unavailable; retry later', req);
    }
    if (replayed) return this.reject(res, platform, policy, 409, 'replayed request (already received)', req);

    const parsed = runtime.parse(req.headers, body);
    switch (parsed.kind) {
      case 'malformed':
        return this.reject(res, platform, policy, 400, parsed.reason, req);
      case 'ping':
        runtime.respond(res, { kind: 'pong' });
        return;
      case 'ignore':
        this.deps.log.debug('gateway request ignored', { platform, reason: parsed.reason });
        runtime.respond(res, { kind: 'ignored' });
        return;
      case 'message': {
        const outcome = this.decide(platform, runtime, policy, parsed.message, now);
        const later = runtime.respond(res, outcome, parsed.message);
        if (later !== undefined) {
          const sending = this.sendReply(
            platform,
            runtime,
            parsed.message,
            later,
            outcome.kind === 'refused' ? 'refused' : 'succeeded',
            policy,
          );
          this.replies.add(sending);
          void sending.finally(() => this.replies.delete(sending));
        }
      }
    }
  }

  /** The policy's answer to one verified message; queues the work when it is allowed. */
  private decide(
    platform: Platform,
    runtime: PlatformRuntime,
    policy: CompiledPolicy,
    msg: Inbound,
    now: number,
  ): Outcome {
    const actor = `${platform}:${msg.user}`;
    const base = {
      policy: policy.name,
      platform,
      user: msg.user,
      channel: msg.channel,
      command: msg.text,
      requestId: msg.requestId,
    };
    const refuse = (
      code: Extract<Outcome, { kind: 'refused' }>['code'],
      reply: string,
      reason: string,
      command?: string,
    ): Outcome => {
      // Without a parsed command the audit keeps the raw text from base.
      this.record(policy, { ...base, ...(command ? { command } : {}), level: 'warn', decision: 'refused', reason });
      return { kind: 'refused', code, text: reply };
    };
    try {
      const who = admit(policy, platform, msg.user, msg.channel);
      if (!who.ok) return refuse('forbidden', who.reply, who.reason);
      const rl = this.limiter.take(actor, policy.rateLimit, now);
      if (!rl.ok) {
        const secs = Math.ceil(rl.retryAfterMs / 1000);
        return refuse(
          'rate-limited',
          `Too many requests; try again in ${secs}s.`,
          `rate limit of ${policy.rateLimit.requests} per ${policy.rateLimit.perMs} ms exceeded`,
        );
      }
      const cmd = parseCommand(msg.text, { freeText: policy.freeText.has(platform) });
      if (!cmd.ok) return refuse('bad-command', cmd.error, `unparseable command: ${cmd.error}`);
      const line = describeCommand(cmd.command);
      const snap = this.deps.snapshot();
      const allowed = permit(who.roles, cmd.command, snap);
      if (!allowed.ok) return refuse('forbidden', allowed.reply, allowed.reason, line);

      const roles = who.roles.map((r) => r.name).join(', ');
      switch (cmd.command.verb) {
        case 'help':
          this.record(policy, {
            ...base,
            command: line,
            level: 'info',
            decision: 'answered',
            reason: `roles ${roles}`,
          });
          return { kind: 'answer', text: helpText(allowedSummary(who.roles)) };
        case 'status':
          this.record(policy, {
            ...base,
            command: line,
            level: 'info',
            decision: 'answered',
            reason: `roles ${roles}`,
          });
          return { kind: 'answer', text: this.statusReply(snap) };
        default: {
          const job: Job = { platform, runtime, message: msg, command: cmd.command, actor, policyName: policy.name };
          if (!this.queue.push(() => this.runJob(job)))
            return refuse('rate-limited', 'The gateway is busy; try again later.', 'gateway queue full', line);
          this.record(policy, {
            ...base,
            command: line,
            level: 'info',
            decision: 'accepted',
            reason: `roles ${roles}`,
          });
          return { kind: 'accepted', text: `Working on it: ${line}`, requestId: msg.requestId };
        }
      }
    } catch (err) {
      // Fail closed: whatever went wrong, the answer is no.
      this.deps.log.error('gateway authorisation failed', { platform, error: errorMessage(err) });
      return refuse(
        'forbidden',
        'Could not check your permissions; the request was refused.',
        `authorisation error: ${errorMessage(err)}`,
      );
    }
  }

  /** Authorises again against the policy in force now, then runs and replies. */
  private async runJob(job: Job): Promise<void> {
    const { platform, message, command } = job;
    const line = describeCommand(command);
    const current = this.bindings.get(platform);
    const base = {
      platform,
      user: message.user,
      channel: message.channel,
      command: line,
      requestId: message.requestId,
    };
    let check: { ok: true; target?: string; tools?: string[] } | Refusal;
    try {
      if (!current?.state.ready) {
        check = {
          ok: false,
          reason: `platform ${platform} stopped before the work started`,
          reply: 'The gateway stopped serving this platform; nothing was run.',
        };
      } else {
        const who = admit(current.policy, platform, message.user, message.channel);
        check = who.ok ? permit(who.roles, command, this.deps.snapshot()) : who;
      }
    } catch (err) {
      check = {
        ok: false,
        reason: `authorisation error: ${errorMessage(err)}`,
        reply: 'Could not check your permissions; nothing was run.',
      };
    }
    const policy = current?.policy;
    if (!check.ok || this.abort.signal.aborted) {
      const reason = check.ok ? 'gateway stopping' : check.reason;
      this.record(policy, {
        ...base,
        policy: policy?.name ?? job.policyName,
        level: 'warn',
        decision: 'refused',
        reason: `checked again before start: ${reason}`,
      });
      await this.sendReply(
        platform,
        job.runtime,
        message,
        check.ok ? 'The gateway is stopping; nothing was run.' : check.reply,
        'refused',
        policy,
      );
      return;
    }

    const opts = { trigger: { source: `gateway:${platform}`, actor: job.actor }, signal: this.abort.signal };
    let text: string;
    let status: 'succeeded' | 'failed';
    let runId: string | undefined;
    try {
      if (command.verb === 'ask') {
        const runAgent = this.deps.runner.runAgent;
        if (!runAgent) throw new CaduceusError('RunnerUnavailable', 'the agent is not registered');
        // The tools are the ones the roles allow now, as checked just above.
        const result = await runAgent.call(this.deps.runner, {
          prompt: command.text,
          ...(check.tools ? { tools: check.tools } : {}),
          ...opts,
          name: `gateway/${platform}`,
        });
        runId = result.runId;
        status = result.status === 'succeeded' ? 'succeeded' : 'failed';
        text = formatAgentResult(result);
      } else if (command.verb === 'run-task') {
        const report = await this.deps.runner.runTask(check.target ?? command.name, opts);
        runId = report.runId;
        status = report.status === 'succeeded' ? 'succeeded' : 'failed';
        text = formatTaskReport(report);
      } else {
        // key=value text: the runner types it as the skill declares (validateParams).
        const result = await this.deps.runner.runSkill(check.target ?? command.name, command.params, opts);
        runId = result.runId;
        status = result.status === 'succeeded' ? 'succeeded' : 'failed';
        text = formatSkillResult(result);
      }
    } catch (err) {
      status = 'failed';
      text = `${line} could not run: ${redact(errorMessage(err))}`;
    }
    this.record(policy, {
      ...base,
      policy: policy?.name ?? job.policyName,
      level: status === 'succeeded' ? 'info' : 'warn',
      decision: status === 'succeeded' ? 'completed' : 'failed',
      reason: text.split('\n')[0] ?? '',
      runId,
    });
    await this.sendReply(platform, job.runtime, message, text, status, policy);
  }

  /**
   * Posts `text` to a channel of a served platform (a scheduled task's result): the
   * platform must be ready, the channel on its list, and the platform able to post on its
   * own (a bot token, a callback URL). Audited like replies; throws DeliveryUnavailable or
   * DeliveryFailed.
   */
  async post(target: DeliveryTarget, text: string, opts: { trigger: RunTrigger; signal?: AbortSignal }): Promise<void> {
    const { platform, channel } = target;
    const binding = this.bindings.get(platform);
    const unavailable = (why: string): CaduceusError =>
      new CaduceusError('DeliveryUnavailable', `cannot post to ${platform} channel ${channel}: ${why}`, {
        hint: `configure platforms.${platform} in a GatewayPolicy with channel ${channel} listed`,
      });
    if (!binding) throw unavailable(`no GatewayPolicy configures ${platform}`);
    if (!binding.state.ready) throw unavailable(`the platform is not started (${binding.state.message})`);
    if (!binding.policy.channels.get(platform)?.has(channel))
      throw unavailable(`the channel is not on the ${platform} channel list of GatewayPolicy/${binding.policy.name}`);
    const runtime = binding.state.runtime;
    let call: ReturnType<PlatformRuntime['post']>;
    try {
      call = runtime.post(channel, truncate(text, runtime.maxReplyChars));
    } catch (err) {
      throw unavailable(errorMessage(err)); // an unset bot token
    }
    if (!call) throw unavailable(`${platform} has nothing to post with (a botToken, or the webhook's callbackURL)`);
    const base = {
      policy: binding.policy.name,
      platform,
      channel,
      command: `deliver (${opts.trigger.source})`,
    };
    const signal = opts.signal ? AbortSignal.any([this.abort.signal, opts.signal]) : this.abort.signal;
    const result = await deliver(call, { ...this.delivery, signal });
    if (!result.ok) {
      const why = `not delivered after ${result.attempts} attempt(s): ${result.error ?? 'unknown error'}`;
      this.record(undefined, { ...base, level: 'error', decision: 'delivery-failed', reason: why });
      throw new CaduceusError('DeliveryFailed', `posting to ${platform} channel ${channel} failed: ${redact(why)}`);
    }
    this.record(binding.policy, { ...base, level: 'info', decision: 'delivered', reason: 'delivered' });
  }

  private async sendReply(
    platform: Platform,
    runtime: PlatformRuntime,
    message: Inbound,
    text: string,
    status: 'succeeded' | 'failed' | 'refused',
    policy: CompiledPolicy | undefined,
  ): Promise<void> {
    const base = {
      policy: policy?.name ?? null,
      platform,
      user: message.user,
      channel: message.channel,
      requestId: message.requestId,
    };
    const call = runtime.reply(message, truncate(text, runtime.maxReplyChars), status);
    if (!call) {
      this.deps.log.debug('gateway reply has no destination', { platform, requestId: message.requestId });
      return;
    }
    const errors: string[] = [];
    const result = await deliver(call, {
      ...this.delivery,
      onRetry: (attempt, error, delayMs) => {
        errors.push(error);
        this.deps.log.warn('gateway reply failed; retrying', {
          platform,
          attempt,
          error: redact(error),
          retryInMs: delayMs,
        });
      },
    });
    if (!result.ok) {
      this.record(undefined, {
        ...base,
        level: 'error',
        decision: 'delivery-failed',
        reason: `reply not delivered after ${result.attempts} attempt(s): ${result.error ?? 'unknown error'}`,
      });
      this.deps.log.error('gateway reply not delivered', {
        platform,
        attempts: result.attempts,
        error: redact(result.error ?? ''),
      });
    } else if (result.attempts > 1) {
      this.record(undefined, {
        ...base,
        level: 'warn',
        decision: 'delivered',
        reason: `delivered after ${result.attempts} attempts; earlier: ${errors.join('; ')}`,
      });
    } else {
      this.record(policy, { ...base, level: 'info', decision: 'delivered', reason: 'delivered' });
    }
  }

  private reject(
    res: ServerResponse,
    platform: Platform,
    policy: CompiledPolicy,
    status: number,
    reason: string,
    req: IncomingMessage,
  ): void {
    // Always recorded, whatever audit.level says: these are attacks or misconfiguration.
    this.record(undefined, {
      policy: policy.name,
      platform,
      level: 'warn',
      decision: 'rejected',
      reason: `HTTP ${status}: ${reason} (from ${req.socket.remoteAddress ?? 'unknown address'})`,
    });
    this.deps.log.warn('gateway request rejected', { platform, status, reason });
    res.setHeader('connection', 'close');
    sendJson(res, status, { error: reason });
  }

  /**
   * Writes an audit row as far as the policy's audit.level asks. `policy` undefined means
   * the row is always kept (rejections, delivery problems).
   */
  private record(policy: CompiledPolicy | undefined, e: NewAuditEntry & { policy?: string | null }): void {
    this.requests.inc({ platform: e.platform, decision: e.decision });
    if (policy) {
      if (policy.auditLevel === 'none') return;
      if (policy.auditLevel === 'refused' && e.decision !== 'refused') return;
    }
    try {
      this.audit.record(e);
    } catch (err) {
      this.deps.log.error('gateway audit write failed', { error: errorMessage(err) });
    }
  }

  private statusReply(snap: Snapshot): string {
    this.runs ??= new RunStore(this.deps.store);
    return statusText({
      revision: snap.revision,
      platforms: [...this.bindings.values()].map((b) => ({ platform: b.platform, ready: b.state.ready })),
      queue: this.queue.size,
      runs: this.runs.list({ limit: 5 }),
    });
  }
}
