// Runs one shell process in a throw-away container through dockerode: the configured
// image, no network unless asked, memory/CPU/pids limits, all capabilities dropped,
// no-new-privileges, a read-only root with a tmpfs /tmp, a non-root user, the run's
// workspace at /workspace and the configuration read-only at /config. Every container
// carries caduceus.* labels (this deployment's instance id, the owning process) so the
// ones a crashed process left behind can be collected, and no other Caduceus's are.

import type Docker from 'dockerode';
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import type { ExecResult, Logger } from '../../reconciler/types.js';
import { CaduceusError, errorMessage } from '../../reconciler/errors.js';
import { timerDelay } from '../../reconciler/duration.js';
import type { Backend, LiveUsage, ProcessSpec } from './backend.js';
import { LineSplitter, OutputBuffer } from './output-buffer.js';
import type { EffectiveIsolation } from './runtime-config.js';
import { parseMemory } from '../../reconciler/quantity.js';
import { shellArgv } from './shell.js';
import { newDocker } from './dockerode-lib.js';

export const LABEL_MANAGED = 'caduceus.managed';
export const LABEL_RUN = 'caduceus.run';
/** `host:pid` of the Caduceus process that made the container. */
export const LABEL_OWNER = 'caduceus.owner';
/** The deployment (ControllerDeps.instanceId): GC only ever touches its own. */
export const LABEL_INSTANCE = 'caduceus.instance';
const WORKSPACE = '/workspace';
const CONFIG = '/config';
/** How long to wait for the last log bytes after the container exited. */
const DRAIN_MS = 2000;

export interface DockerBackendOptions {
  /** A fixed client, or the engine of the current Runtime (execution.docker). */
  docker?: Docker | (() => Docker);
  instanceId: string;
  /** The host directory mounted read-only at /config: configuration files only (config-view.ts). */
  configMount?: () => Promise<string>;
  log: Logger;
  /** Where the engine is, for error messages (never a credential). */
  where?: () => string;
}

export function connectDocker(): Docker {
  // docker-modem reads DOCKER_HOST (unix://, tcp://, ssh://) and falls back to /var/run/docker.sock.
  return newDocker();
}

/** Turns dockerode's errors into the two a person can act on. */
export function dockerError(err: unknown, image?: string, engine?: string): unknown {
  const e = err as { statusCode?: number; code?: string; message?: string; json?: { message?: string } };
  const msg = e?.json?.message ?? e?.message ?? '';
  if (image && ((e?.statusCode === 404 && /image/i.test(msg)) || /no such image/i.test(msg))) {
    return imageNotFound(image);
  }
  // Refused, reset (a TLS endpoint that does not accept our certificate hangs up), timed
  // out or unreachable, or a TLS failure on our side: the engine itself is out of reach.
  const code = e?.code ?? '';
  if (UNREACHABLE.has(code) || /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED)/.test(code)) {
    const at = engine ? ` at ${engine}` : '';
    return new CaduceusError('DockerUnavailable', `the Docker engine${at} does not answer (${code}: ${msg})`, {
      hint:
        engine?.startsWith('unix:') || !engine
          ? 'start dockerd, or point DOCKER_HOST at an engine'
          : 'check execution.docker.host, that the engine listens there, and its TLS certificates or ssh key',
      cause: err,
    });
  }
  return err;
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

export function imageNotFound(image: string): CaduceusError {
  return new CaduceusError(
    'ImageNotFound',
    `Docker image ${image} is not on this engine (no registry is reachable to pull it)`,
    {
      field: 'isolation.image',
      hint:
        image === 'caduceus-sandbox:latest'
          ? 'run `caduceus sandbox build`'
          : `run \`caduceus sandbox build --tag ${image}\` or load the image`,
    },
  );
}

export class DockerBackend implements Backend {
  private readonly engine: () => Docker;
  /** Containers this backend is running, removed on stop(). */
  private readonly mine = new Set<Docker.Container>();
  private readonly removals = new Set<Promise<void>>();
  private readonly owner = `${hostname()}:${process.pid}`;

  constructor(private readonly opts: DockerBackendOptions) {
    const d = opts.docker;
    const fixed = typeof d === 'function' ? undefined : (d ?? connectDocker());
    this.engine = typeof d === 'function' ? d : () => fixed as Docker;
  }

  get docker(): Docker {
    return this.engine();
  }

  /** True when the image exists; throws DockerUnavailable when the engine does not answer. */
  async imageExists(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return false;
      throw dockerError(err);
    }
  }

  async run(spec: ProcessSpec, iso: EffectiveIsolation): Promise<ExecResult> {
    const t0 = performance.now();
    if (spec.signal?.aborted)
      return { status: 'cancelled', exitCode: null, durationMs: 0, output: '', droppedBytes: 0 };
    const out = new OutputBuffer(spec.outputLimitBytes);
    // One splitter per stream, so a partial stdout line never merges with stderr.
    const lines = spec.onLine ? [new LineSplitter(spec.onLine), new LineSplitter(spec.onLine)] : undefined;
    const env = {
      ...spec.env,
      CADUCEUS_WORKSPACE: WORKSPACE,
      // Every key becomes a NAME=value entry: no config dir, no variable.
      ...(this.opts.configMount ? { CADUCEUS_CONFIG_DIR: CONFIG } : {}),
    };
    let container: Docker.Container;
    try {
      const configDir = await this.opts.configMount?.();
      container = await this.docker.createContainer({
        Image: iso.image,
        Cmd: shellArgv(spec.shell, spec.command, 'docker'),
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        WorkingDir: WORKSPACE,
        User: iso.user,
        Labels: {
          [LABEL_MANAGED]: 'true',
          [LABEL_INSTANCE]: this.opts.instanceId,
          [LABEL_RUN]: spec.runId,
          [LABEL_OWNER]: this.owner,
        },
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        HostConfig: this.hostConfig(spec, iso, configDir),
      });
    } catch (err) {
      throw dockerError(err, iso.image, this.opts.where?.());
    }
    this.mine.add(container);
    let ending: 'timedOut' | 'cancelled' | undefined;
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    let usage: { cpuMs: number; peakMemoryBytes: number } | undefined;
    try {
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const sink = (which: 0 | 1): Writable =>
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            out.push(chunk);
            lines?.[which]?.push(chunk);
            cb();
          },
        });
      container.modem.demuxStream(stream, sink(0), sink(1));
      const drained = new Promise<void>((resolve) => {
        stream.once('end', resolve);
        stream.once('close', resolve);
        stream.once('error', () => resolve());
      });
      const stopped = new Promise<'timedOut' | 'cancelled'>((resolve) => {
        if (spec.timeoutMs !== undefined) timer = setTimeout(() => resolve('timedOut'), timerDelay(spec.timeoutMs));
        onAbort = () => resolve('cancelled');
        spec.signal?.addEventListener('abort', onAbort, { once: true });
        // An abort that came while the container was being created fired before the listener.
        if (spec.signal?.aborted) resolve('cancelled');
      });
      // Waiting is set up before the start, so a fast exit cannot be missed (as the docker CLI does).
      const exited = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>;
      exited.catch(() => undefined);
      await container.start();
      const stats = containerStats(container, spec.onUsage);
      const outcome = await Promise.race([exited, stopped]);
      usage = stats.stop();
      if (typeof outcome === 'string') {
        ending = outcome;
        await this.remove(container);
        (stream as unknown as { destroy?: () => void }).destroy?.();
      } else {
        finished = true;
        await Promise.race([drained, delay(DRAIN_MS)]);
      }
      for (const l of lines ?? []) l.flush();
      const exitCode = typeof outcome === 'string' ? null : outcome.StatusCode;
      return {
        usage,
        status: ending ?? (exitCode === 0 ? 'succeeded' : 'failed'),
        exitCode,
        durationMs: performance.now() - t0,
        output: out.toString(),
        droppedBytes: out.dropped,
      };
    } catch (err) {
      throw dockerError(err, iso.image, this.opts.where?.());
    } finally {
      if (timer) clearTimeout(timer);
      if (onAbort) spec.signal?.removeEventListener('abort', onAbort);
      // An exited container is removed by the engine itself (AutoRemove, as `docker run
      // --rm` does); one that failed to start or to report its exit is removed here.
      if (finished) this.mine.delete(container);
      else if (!ending) void this.remove(container);
    }
  }

  private remove(container: Docker.Container): Promise<void> {
    const p = container
      .remove({ force: true, v: true })
      .catch((err: unknown) => {
        // 404: gone already; 409: the engine is removing it (AutoRemove).
        const status = (err as { statusCode?: number }).statusCode;
        if (status !== 404 && status !== 409) {
          this.opts.log.warn('could not remove a run container', {
            container: container.id.slice(0, 12),
            error: errorMessage(err),
          });
        }
      })
      .finally(() => {
        this.mine.delete(container);
        this.removals.delete(p);
      });
    this.removals.add(p);
    return p;
  }

  private hostConfig(spec: ProcessSpec, iso: EffectiveIsolation, configDir: string | undefined): Docker.HostConfig {
    const binds = [`${spec.workspace}:${WORKSPACE}:rw`];
    if (configDir) binds.push(`${configDir}:${CONFIG}:ro`);
    return {
      AutoRemove: true,
      NetworkMode: iso.network,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: iso.readOnly,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m,mode=1777' },
      Binds: binds,
      // Docker reads 0 as "no limit": only a written-out `unlimited` leaves one off.
      ...(iso.memory !== 'unlimited' ? { Memory: parseMemory(iso.memory), MemorySwap: parseMemory(iso.memory) } : {}),
      ...(iso.cpus !== 'unlimited' ? { NanoCpus: Math.round(iso.cpus * 1e9) } : {}),
      ...(iso.pids !== 'unlimited' ? { PidsLimit: iso.pids } : {}),
    };
  }

  /**
   * Removes this instance's containers whose owning process is gone (a crash). Containers
   * of live Caduceus processes on this host (this one included, whose runs may be starting
   * right now) and every container of another instance (another Caduceus on a shared
   * engine) are left alone.
   */
  async gc(): Promise<number> {
    let list: Docker.ContainerInfo[];
    try {
      list = await this.docker.listContainers({
        all: true,
        filters: { label: [`${LABEL_MANAGED}=true`, `${LABEL_INSTANCE}=${this.opts.instanceId}`] },
      });
    } catch (err) {
      throw dockerError(err);
    }
    let removed = 0;
    for (const info of list) {
      const owner = info.Labels?.[LABEL_OWNER] ?? '';
      if (owner === this.owner || !ownerGone(owner)) continue;
      try {
        await this.docker.getContainer(info.Id).remove({ force: true, v: true });
        removed++;
        this.opts.log.info('removed a container left by a crashed run', {
          container: info.Id.slice(0, 12),
          run: info.Labels?.[LABEL_RUN],
        });
      } catch (err) {
        this.opts.log.warn('could not remove a leftover container', {
          container: info.Id.slice(0, 12),
          error: errorMessage(err),
        });
      }
    }
    return removed;
  }

  /** Kills and removes every container this backend still runs (shutdown). */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.mine].map((c) => this.remove(c)));
    await Promise.allSettled([...this.removals]);
  }
}

/**
 * Whether the process named by an owner label (`host:pid`) is gone: a process on another
 * host counts as gone (only the leader runs work, and a leader that lost its lease has
 * stepped down), one on this host when its pid no longer exists.
 */
export function ownerGone(owner: string): boolean {
  const [ownerHost, ownerPid] = owner.split(':');
  const pid = Number(ownerPid);
  if (!ownerHost || !Number.isInteger(pid)) return true;
  return ownerHost !== hostname() || (pid !== process.pid && !processAlive(pid));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

interface DockerStats {
  memory_stats?: { usage?: number; max_usage?: number; stats?: { cache?: number; inactive_file?: number } };
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  pids_stats?: { current?: number };
}

/**
 * Follows the engine's stats of a running container (about one a second): CPU time from
 * cpu_usage.total_usage, memory without the page cache, the peak from max_usage where the
 * engine keeps it (cgroup v1) or the largest sample. stop() ends the stream with the totals.
 */
function containerStats(
  container: Docker.Container,
  onUsage: ((u: LiveUsage) => void) | undefined,
): { stop(): { cpuMs: number; peakMemoryBytes: number } } {
  let cpuMs = 0;
  let peak = 0;
  let prev: { at: number; cpu: number } | undefined;
  let stream: NodeJS.ReadableStream | undefined;
  let stopped = false;
  let buffered = '';
  const onJson = (s: DockerStats): void => {
    const total = s.cpu_stats?.cpu_usage?.total_usage;
    const usage = s.memory_stats?.usage;
    if (total === undefined || usage === undefined || (total === 0 && usage === 0)) return;
    const cache = s.memory_stats?.stats?.inactive_file ?? s.memory_stats?.stats?.cache ?? 0;
    const memory = Math.max(0, usage - cache);
    const now = performance.now();
    const cpu = total / 1e6;
    cpuMs = Math.max(cpuMs, cpu);
    peak = Math.max(peak, memory, s.memory_stats?.max_usage ?? 0);
    const cpuPercent = prev && now > prev.at ? ((cpu - prev.cpu) / (now - prev.at)) * 100 : null;
    prev = { at: now, cpu };
    onUsage?.({
      cpuMs,
      cpuPercent,
      memoryBytes: memory,
      peakMemoryBytes: peak,
      processes: s.pids_stats?.current ?? 0,
      source: 'docker',
    });
  };
  container.stats({ stream: true }).then(
    (st) => {
      stream = st as unknown as NodeJS.ReadableStream;
      if (stopped) return (stream as unknown as { destroy?: () => void }).destroy?.();
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let nl = buffered.indexOf('\n');
        while (nl >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line)
            try {
              onJson(JSON.parse(line) as DockerStats);
            } catch {
              // a partial or foreign line: the next one will do
            }
          nl = buffered.indexOf('\n');
        }
      });
      stream.on('error', () => undefined);
    },
    () => undefined,
  );
  return {
    stop: () => {
      stopped = true;
      (stream as unknown as { destroy?: () => void } | undefined)?.destroy?.();
      return { cpuMs, peakMemoryBytes: peak };
    },
  };
}
