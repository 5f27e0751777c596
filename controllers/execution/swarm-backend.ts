// Runs one shell process as a Docker Swarm job: a `replicated-job` service with one
// replica and restart policy none, with the Docker backend's hardening (user, read-only
// root, all capabilities dropped, limits) plus the Runtime's or Task's placement
// constraints and reservations. No host path is shared with the node that runs it:
// - in: the workspace as a gzipped tar in a Swarm config object (any node can mount it;
//   configs hold at most 500 KiB, so larger workspaces are refused), unpacked into a
//   tmpfs /workspace by the job's wrapper before the command runs;
// - out: the command's output and, after a marker line, a base64 tar of /workspace, both
//   read back from the service's logs once the task has ended; the tar replaces the
//   host workspace, so later steps and file steps see what the job wrote.
// `network: none` is one internal overlay network per instance (no route out; the jobs of
// the instance share it). Engine 20.10 has no `none` network for services, and a network
// made and removed per job is slow and, under load, leaves stale copies on the node.
// Services and configs carry the instance and owner labels; cancelling removes them, and
// gc() removes those a crashed process of this instance left behind. The network stays
// for the next process of the instance and goes at a clean stop().

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip, gzipSync } from 'node:zlib';
import type Docker from 'dockerode';
import tar from 'tar-fs';
import type { ExecResult, Logger } from '../../reconciler/types.js';
import { CaduceusError, errorMessage } from '../../reconciler/errors.js';
import { timerDelay } from '../../reconciler/duration.js';
import type { Backend, ProcessSpec } from './backend.js';
import { OutputBuffer, LineSplitter } from './output-buffer.js';
import type { EffectiveIsolation } from './runtime-config.js';
import { parseMemory } from '../../reconciler/quantity.js';
import { dockerError, LABEL_INSTANCE, LABEL_MANAGED, LABEL_OWNER, LABEL_RUN, ownerGone } from './docker-backend.js';

/** Swarm refuses configs over 500 KiB. */
export const MAX_WORKSPACE_IN = 500 * 1024;
/** The result tar read back from the logs is bounded too (decoded size). */
export const MAX_WORKSPACE_OUT = 64 * 1024 * 1024;
const WORKSPACE = '/workspace';
const ARCHIVE = '/run/caduceus/workspace.tar.gz';
const TERMINAL = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);
/** Marks the instance's shared internal network, which gc() leaves to the next process. */
export const LABEL_NETWORK = 'caduceus.network';
/** The label Swarm puts on a task's container, naming its service. */
const SWARM_SERVICE_LABEL = 'com.docker.swarm.service.id';
/** How long a removal follows the orphaned task of a job to the container it may still get. */
const ORPHAN_WAIT_MS = 10_000;

/** A task as the task list shows it, with the fields the orphan follow-up reads. */
interface ListedTask {
  ServiceID?: string;
  Status?: { State?: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
}

/**
 * The job's entry point: unpack the workspace, run the command with stderr on stdout (one
 * ordered stream), then print the exit code and the workspace after a marker only this
 * run knows. Runs under `sh -c`, so it needs nothing but busybox (tar, gzip, base64).
 */
const WRAPPER = [
  'if [ -f "$CADUCEUS_ARCHIVE" ]; then tar -xzf "$CADUCEUS_ARCHIVE" -C "$CADUCEUS_WORKSPACE" || exit 125; fi',
  'cd "$CADUCEUS_WORKSPACE" || exit 125',
  '/bin/sh -c "$CADUCEUS_COMMAND" 2>&1',
  'code=$?',
  'echo; echo "$CADUCEUS_MARK begin $code"',
  'tar -czf - -C "$CADUCEUS_WORKSPACE" . | base64',
  'echo "$CADUCEUS_MARK end"',
  'exit $code',
].join('\n');

export interface SwarmBackendOptions {
  /** The engine of the current Runtime (a manager of the swarm). */
  docker: () => Docker;
  instanceId: string;
  log: Logger;
  /** How often the task's state is read while it runs (default 100 ms, growing to 500 ms). */
  pollMs?: number;
  /** Where the engine is, for error messages (never a credential). */
  where?: () => string;
}

interface JobObjects {
  service?: Docker.Service;
  config?: { id: string; name: string };
  /** The run's label value (caduceus.run), by which its task is found once the service is gone. */
  run?: string;
}

export class SwarmBackend implements Backend {
  private readonly owner = `${hostname()}:${process.pid}`;
  private readonly mine = new Set<JobObjects>();
  private readonly cleanups = new Set<Promise<void>>();
  private apiVersion: string | undefined;
  /** The shared internal network's id, per engine client (the Runtime may name another engine). */
  private readonly networks = new Map<Docker, Promise<string>>();
  /** The start-up gc, which stop() lets finish (it may hand this process a network to remove). */
  private collecting: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: SwarmBackendOptions) {}

  private get docker(): Docker {
    return this.opts.docker();
  }

  private labels(runId: string): Record<string, string> {
    return {
      [LABEL_MANAGED]: 'true',
      [LABEL_INSTANCE]: this.opts.instanceId,
      [LABEL_OWNER]: this.owner,
      [LABEL_RUN]: runId,
    };
  }

  /** True when the engine is a manager of an active swarm. */
  async active(): Promise<boolean> {
    try {
      const info = (await this.docker.info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
      return info.Swarm?.LocalNodeState === 'active' && info.Swarm.ControlAvailable === true;
    } catch (err) {
      throw dockerError(err);
    }
  }

  async run(spec: ProcessSpec, iso: EffectiveIsolation): Promise<ExecResult> {
    const t0 = performance.now();
    const cancelled = (): ExecResult => ({
      status: 'cancelled',
      exitCode: null,
      durationMs: performance.now() - t0,
      output: '',
      droppedBytes: 0,
    });
    if (spec.signal?.aborted) return cancelled();
    const archive = await packWorkspace(spec.workspace);
    const id = `${spec.runId.slice(0, 8)}-${randomBytes(4).toString('hex')}`;
    const mark = `caduceus-${randomBytes(12).toString('hex')}`;
    const job: JobObjects = { run: spec.runId };
    this.mine.add(job);
    let ending: 'timedOut' | 'cancelled' | undefined;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const stopped = new Promise<'timedOut' | 'cancelled'>((resolve) => {
        if (spec.timeoutMs !== undefined) timer = setTimeout(() => resolve('timedOut'), timerDelay(spec.timeoutMs));
        onAbort = () => resolve('cancelled');
        spec.signal?.addEventListener('abort', onAbort, { once: true });
        if (spec.signal?.aborted) resolve('cancelled');
      });
      const created = this.create(spec, iso, id, mark, archive, job);
      const first = await Promise.race([created.then(() => 'created' as const), stopped]);
      if (first !== 'created') {
        ending = first;
        await created.catch(() => undefined);
        return { ...cancelled(), status: ending };
      }
      const outcome = await Promise.race([this.waitForTask(job.service as Docker.Service, spec.signal), stopped]);
      if (typeof outcome === 'string') ending = outcome;
      const logs = await this.logs(job.service as Docker.Service, ending !== undefined);
      const parsed = splitResult(logs, mark);
      const out = new OutputBuffer(spec.outputLimitBytes);
      out.push(parsed.output);
      // A task the swarm rejected or failed before the command ran says why only in its status.
      if (typeof outcome !== 'string' && outcome.error && parsed.exitCode === undefined)
        out.push(Buffer.from(`swarm task ${outcome.state}: ${outcome.error}\n`));
      if (spec.onLine) {
        const lines = new LineSplitter(spec.onLine);
        lines.push(parsed.output);
        lines.flush();
      }
      if (!ending && parsed.archive) await unpackWorkspace(parsed.archive, spec.workspace);
      // Only a task that ran has an exit code: a rejected, shut down or orphaned one still
      // reports ContainerStatus.ExitCode 0 (the field's zero value), which is no success.
      const ran = typeof outcome !== 'string' && (outcome.state === 'complete' || outcome.state === 'failed');
      const exitCode =
        ending || typeof outcome === 'string' ? null : (parsed.exitCode ?? (ran ? outcome.exitCode : null));
      const completed = typeof outcome !== 'string' && outcome.state === 'complete';
      return {
        status: ending ?? (exitCode === 0 && completed ? 'succeeded' : 'failed'),
        exitCode,
        durationMs: performance.now() - t0,
        output: out.toString(),
        droppedBytes: out.dropped,
      };
    } catch (err) {
      throw swarmError(err) ?? dockerError(err, iso.image, this.opts.where?.());
    } finally {
      if (timer) clearTimeout(timer);
      if (onAbort) spec.signal?.removeEventListener('abort', onAbort);
      await this.remove(job);
    }
  }

  private async create(
    spec: ProcessSpec,
    iso: EffectiveIsolation,
    id: string,
    mark: string,
    archive: Buffer | undefined,
    job: JobObjects,
  ): Promise<void> {
    const labels = this.labels(spec.runId);
    const docker = this.docker;
    if (archive) {
      const name = `caduceus-ws-${id}`;
      const c = (await docker.createConfig({ Name: name, Labels: labels, Data: archive.toString('base64') })) as {
        id?: string;
        ID?: string;
      };
      job.config = { id: (c.id ?? c.ID) as string, name };
    }
    // Internal: no route out of the swarm's overlay, so the job reaches only its siblings.
    const network = iso.network === 'none' ? await this.internalNetwork(docker) : undefined;
    const env = {
      ...spec.env,
      CADUCEUS_WORKSPACE: WORKSPACE,
      CADUCEUS_ARCHIVE: ARCHIVE,
      CADUCEUS_COMMAND: spec.command,
      CADUCEUS_MARK: mark,
    };
    // Limits are always set (runtime defaults); only a written-out `unlimited` leaves one off.
    const limits = {
      MemoryBytes: iso.memory === 'unlimited' ? undefined : parseMemory(iso.memory),
      NanoCPUs: iso.cpus === 'unlimited' ? undefined : Math.round(iso.cpus * 1e9),
      Pids: iso.pids === 'unlimited' ? undefined : iso.pids,
    };
    const reservations = {
      MemoryBytes: iso.reservations?.memory === undefined ? undefined : parseMemory(iso.reservations.memory),
      NanoCPUs: iso.reservations?.cpus === undefined ? undefined : Math.round(iso.reservations.cpus * 1e9),
    };
    const containerSpec: Record<string, unknown> = {
      Image: iso.image,
      Command: ['/bin/sh', '-c', WRAPPER],
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      User: iso.user,
      Dir: '/',
      // Removing the service (cancel, timeout, shutdown, a crashed process's jobs) kills the
      // job at once, as the docker backend's forced removal does: the shell that runs as
      // PID 1 ignores SIGTERM, and the default 10 s grace kept the network busy that long.
      StopSignal: 'SIGKILL',
      StopGracePeriod: 1_000_000_000,
      ReadOnly: iso.readOnly,
      CapabilityDrop: ['ALL'],
      Labels: labels,
      Mounts: [
        { Type: 'tmpfs', Target: WORKSPACE, TmpfsOptions: { SizeBytes: 256 * 1024 * 1024, Mode: 0o1777 } },
        { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 64 * 1024 * 1024, Mode: 0o1777 } },
      ],
      ...(job.config
        ? {
            Configs: [
              {
                ConfigID: job.config.id,
                ConfigName: job.config.name,
                File: { Name: ARCHIVE, UID: '0', GID: '0', Mode: 0o444 },
              },
            ],
          }
        : {}),
      // no-new-privileges for services arrived with API 1.44 (Engine 25); older engines
      // still drop every capability, so a setuid binary gains none.
      ...((await this.supportsPrivileges()) ? { Privileges: { NoNewPrivileges: true } } : {}),
    };
    const service = await docker.createService({
      Name: `caduceus-job-${id}`,
      Labels: labels,
      TaskTemplate: {
        ContainerSpec: containerSpec,
        Resources: { Limits: limits, Reservations: reservations },
        RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
        // Spread: the Docker API receives only the keys the isolation sets.
        ...(iso.placement?.length ? { Placement: { Constraints: iso.placement } } : {}),
        ...(network ? { Networks: [{ Target: network }] } : {}),
      },
      Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
    } as unknown as Docker.CreateServiceOptions);
    job.service = service as unknown as Docker.Service;
  }

  /** The instance's internal overlay network on this engine, found or made once. */
  private internalNetwork(docker: Docker): Promise<string> {
    let id = this.networks.get(docker);
    if (!id) {
      id = this.findOrCreateNetwork(docker);
      this.networks.set(docker, id);
      // A failure is not remembered: the next job asks the engine again.
      id.catch(() => this.networks.delete(docker));
    }
    return id;
  }

  private async findOrCreateNetwork(docker: Docker): Promise<string> {
    const name = `caduceus-none-${this.opts.instanceId}`;
    const find = async (): Promise<string | undefined> => {
      const list = (await docker.listNetworks({ filters: JSON.stringify({ name: [name] }) })) as Array<{
        Id: string;
        Name: string;
        Scope?: string;
      }>;
      return list.find((n) => n.Name === name && n.Scope === 'swarm')?.Id;
    };
    const found = await find();
    if (found) return found;
    try {
      const net = await docker.createNetwork({
        Name: name,
        Driver: 'overlay',
        Internal: true,
        Labels: {
          [LABEL_MANAGED]: 'true',
          [LABEL_INSTANCE]: this.opts.instanceId,
          [LABEL_OWNER]: this.owner,
          [LABEL_NETWORK]: 'none',
        },
      });
      return net.id;
    } catch (err) {
      // Another process of the instance made it a moment ago.
      if ((err as { statusCode?: number }).statusCode === 409) {
        const again = await find();
        if (again) return again;
      }
      throw err;
    }
  }

  private async supportsPrivileges(): Promise<boolean> {
    if (this.apiVersion === undefined) {
      const v = (await this.docker.version()) as { ApiVersion?: string };
      this.apiVersion = v.ApiVersion ?? '1.0';
    }
    const [major, minor] = this.apiVersion.split('.').map(Number);
    return (major ?? 0) > 1 || (minor ?? 0) >= 44;
  }

  /** Polls the job's one task until it reaches a final state; its exit code when it ran. */
  private async waitForTask(
    service: Docker.Service,
    signal: AbortSignal | undefined,
  ): Promise<{ state: string; exitCode: number | null; error?: string }> {
    let wait = this.opts.pollMs ?? 100;
    for (;;) {
      if (signal?.aborted) return { state: 'cancelled', exitCode: null };
      const tasks = (await this.docker.listTasks({ filters: JSON.stringify({ service: [service.id] }) })) as Array<{
        Status?: { State?: string; Err?: string; ContainerStatus?: { ExitCode?: number } };
      }>;
      const t = tasks[0];
      const state = t?.Status?.State;
      if (state && TERMINAL.has(state)) {
        const code = t?.Status?.ContainerStatus?.ExitCode;
        return {
          state,
          exitCode: typeof code === 'number' ? code : null,
          error: t?.Status?.Err || undefined,
        };
      }
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(500, Math.round(wait * 1.5));
    }
  }

  /** The whole log of the job's task, stdout only (the wrapper puts stderr there). */
  private async logs(service: Docker.Service, partial: boolean): Promise<Buffer> {
    try {
      const raw = (await service.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
      return demux(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)));
    } catch (err) {
      // A job cancelled before its task started has no logs to read.
      if (partial) return Buffer.alloc(0);
      throw err;
    }
  }

  /**
   * Removes the job's service at once (that ends its container), then in the background
   * the container its orphaned task may still get (removeOrphanContainers) and its config,
   * which stays in use until the container is gone; the caller need not wait for that, and
   * stop() does.
   */
  private async remove(job: JobObjects): Promise<void> {
    const docker = this.docker;
    let removedService: string | undefined;
    if (job.service) {
      removedService = job.service.id;
      await job.service.remove().catch((err: unknown) => {
        if ((err as { statusCode?: number }).statusCode !== 404)
          this.opts.log.warn('could not remove a swarm job', { error: errorMessage(err) });
      });
      delete job.service;
      await this.removeOrphanedTasks();
    }
    const rest = (async () => {
      // A task removed while being prepared gets its container only now; the config stays
      // in use until that container is gone.
      if (removedService && job.run)
        await this.removeOrphanContainers(new Set([removedService]), `${LABEL_RUN}=${job.run}`);
      const deadline = Date.now() + 60_000;
      while (job.config && Date.now() < deadline) {
        if (await gone(docker.getConfig(job.config.id).remove())) delete job.config;
        else await new Promise((r) => setTimeout(r, 200));
      }
      if (job.config) this.opts.log.warn('swarm config left behind; gc removes it');
    })().finally(() => {
      this.mine.delete(job);
      this.cleanups.delete(rest);
    });
    this.cleanups.add(rest);
  }

  /**
   * Force-removes this instance's job containers on this engine whose service is gone.
   * Engine 20.10 orphans the task of a replicated job removed while it was still being
   * prepared or running (moby/moby#44312): nothing stops it, so its container runs on,
   * holding the network and the config, and may even start after the removal. Called
   * after removals, at start-up and while shutdown waits for the network. Containers on
   * other nodes of the swarm are out of this engine's reach.
   */
  private async removeOrphanedTasks(): Promise<number> {
    const docker = this.docker;
    const filters = JSON.stringify({ label: [`${LABEL_INSTANCE}=${this.opts.instanceId}`, SWARM_SERVICE_LABEL] });
    // Containers first, services second: a container listed while its service was being
    // created must not meet a service list taken before that service existed.
    const containers = await docker.listContainers({ all: true, filters }).catch(() => []);
    if (containers.length === 0) return 0;
    const services = await docker
      .listServices({ filters: JSON.stringify({ label: [`${LABEL_INSTANCE}=${this.opts.instanceId}`] }) })
      .catch(() => undefined);
    if (!services) return 0;
    const live = new Set(services.map((s) => s.ID));
    const orphans = containers.filter((c) => !live.has(c.Labels?.[SWARM_SERVICE_LABEL] ?? ''));
    const done = await Promise.allSettled(orphans.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    return done.filter((d) => d.status === 'fulfilled').length;
  }

  /**
   * Follows the tasks of just-removed job services (found by `label`: Engine 20.10 keeps
   * listing a removed job's task, moby/moby#44312) and force-removes the container each one
   * gets. A task removed while still being prepared gets its container only afterwards, so
   * a sweep of containers alone misses it and it stays behind in state Created. Ends once
   * every task has had its container removed or has ended without one, at the latest after
   * ORPHAN_WAIT_MS (then the start-up gc's sweep is left to find it).
   */
  private async removeOrphanContainers(services: Set<string>, label: string): Promise<void> {
    const docker = this.docker;
    const deadline = Date.now() + ORPHAN_WAIT_MS;
    const removed = new Set<string>();
    let wait = 100;
    for (;;) {
      const listed = (await docker.listTasks({ filters: JSON.stringify({ label: [label] }) }).catch(() => undefined)) as
        | ListedTask[]
        | undefined;
      if (!listed) return;
      const tasks = listed.filter((t) => services.has(t.ServiceID ?? ''));
      const containers = tasks
        .map((t) => t.Status?.ContainerStatus?.ContainerID)
        .filter((id): id is string => !!id && !removed.has(id));
      for (const id of containers) {
        if (await gone(docker.getContainer(id).remove({ force: true }))) removed.add(id);
      }
      const coming = tasks.filter((t) => {
        const state = t.Status?.State ?? '';
        const container = t.Status?.ContainerStatus?.ContainerID;
        if (container) return !removed.has(container);
        // A task still waiting for a node is followed too: one that gets a node later would
        // run a job nobody waits for any more.
        return !TERMINAL.has(state);
      });
      if (coming.length === 0) return;
      if (Date.now() > deadline) {
        this.opts.log.warn('a removed swarm job may still get a container; the start-up gc removes it', {
          tasks: coming.length,
        });
        return;
      }
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(500, Math.round(wait * 1.5));
    }
  }

  /**
   * Removes the services and configs of this instance whose owning process is gone (a
   * crash of `up`). Those of other instances on the same swarm are never touched, nor the
   * instance's shared network, which the next job reuses.
   */
  gc(): Promise<number> {
    const run = this.collect();
    this.collecting = run.catch(() => undefined);
    return run;
  }

  private async collect(): Promise<number> {
    const docker = this.docker;
    const filters = JSON.stringify({ label: [`${LABEL_INSTANCE}=${this.opts.instanceId}`] });
    const orphan = (labels: Record<string, string> | undefined): boolean => {
      const owner = labels?.[LABEL_OWNER] ?? '';
      return owner !== this.owner && ownerGone(owner);
    };
    type Listed = { ID: string; Spec?: { Labels?: Record<string, string> } };
    let removed = 0;
    try {
      const removedIds = new Set<string>();
      for (const s of (await docker.listServices({ filters })) as Listed[]) {
        if (!orphan(s.Spec?.Labels)) continue;
        await docker
          .getService(s.ID)
          .remove()
          .then(() => {
            removed++;
            removedIds.add(s.ID);
          })
          .catch(() => undefined);
      }
      if (removedIds.size > 0)
        await this.removeOrphanContainers(removedIds, `${LABEL_INSTANCE}=${this.opts.instanceId}`);
      await this.removeOrphanedTasks();
      // Their services were just removed; the containers go a moment later.
      const configs = ((await docker.listConfigs({ filters })) as Listed[]).filter((c) => orphan(c.Spec?.Labels));
      const deadline = Date.now() + 30_000;
      for (const c of configs) {
        while (!(await gone(docker.getConfig(c.ID).remove())) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 200));
      }
      // The network a crashed process left is this one's now: its stop() removes it.
      const shared = (await docker.listNetworks({
        filters: JSON.stringify({ label: [`${LABEL_INSTANCE}=${this.opts.instanceId}`, `${LABEL_NETWORK}=none`] }),
      })) as Array<{ Id: string; Scope?: string }>;
      const net = shared.find((n) => n.Scope === 'swarm');
      if (net && !this.networks.has(docker)) this.networks.set(docker, Promise.resolve(net.Id));
    } catch (err) {
      throw dockerError(err);
    }
    if (removed > 0) this.opts.log.info('removed swarm jobs a crashed process left behind', { removed });
    return removed;
  }

  /**
   * Removes every job still running, waits for the clean-up of those that ended, then the
   * shared network this process used (shutdown). Another process of the instance still
   * using it keeps it: the engine refuses to remove a network in use.
   */
  async stop(): Promise<void> {
    await this.collecting;
    await Promise.allSettled([...this.mine].map((j) => this.remove(j)));
    await Promise.allSettled([...this.cleanups]);
    for (const [docker, made] of this.networks) {
      this.networks.delete(docker);
      const id = await made.catch(() => undefined);
      if (id) await this.removeNetwork(docker, id);
    }
  }

  /**
   * Removes the network once no container is attached any more (for at most 30 s).
   * Removed while a container is still leaving it, Engine 20.10 keeps a stale copy on the
   * node that no API call removes; the verbose view lists the tasks of every node.
   */
  private async removeNetwork(docker: Docker, id: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const net = docker.getNetwork(id);
      // The types omit inspect's options; dockerode passes them on as the query.
      const inspect = net.inspect as unknown as (opts: { verbose: boolean }) => Promise<unknown>;
      const info = (await inspect.call(net, { verbose: true }).catch((e: unknown) => {
        if ((e as { statusCode?: number }).statusCode === 404) return null;
        return undefined;
      })) as { Containers?: Record<string, unknown>; Services?: Record<string, unknown> | null } | null | undefined;
      if (info === null) return;
      const attached = Object.keys(info?.Containers ?? {}).length + Object.keys(info?.Services ?? {}).length;
      if (info && attached === 0 && (await gone(net.remove()))) return;
      if (attached > 0) await this.removeOrphanedTasks();
      if (await this.networkInUse(docker, id)) return;
      if (Date.now() > deadline) {
        this.opts.log.warn('could not remove the swarm network: containers still attached', { network: id });
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** True when a service (of another process of the instance) still uses the network. */
  private async networkInUse(docker: Docker, id: string): Promise<boolean> {
    const services = (await docker.listServices().catch(() => [])) as Array<{
      Spec?: { TaskTemplate?: { Networks?: Array<{ Target?: string }> } };
    }>;
    return services.some((s) => s.Spec?.TaskTemplate?.Networks?.some((n) => n.Target === id));
  }
}

/** Resolves true once the object is removed (or was gone already), false while it is in use. */
function gone(removal: Promise<unknown>): Promise<boolean> {
  return removal.then(
    () => true,
    (err: unknown) => (err as { statusCode?: number }).statusCode === 404,
  );
}

/** An engine that is not a swarm manager answers 503 "This node is not a swarm manager". */
function swarmError(err: unknown): CaduceusError | undefined {
  const e = err as { statusCode?: number; json?: { message?: string }; message?: string };
  const msg = e?.json?.message ?? e?.message ?? '';
  if (e?.statusCode !== 503 || !/swarm/i.test(msg)) return undefined;
  return new CaduceusError('SwarmInactive', `the Docker engine cannot run Swarm jobs: ${msg}`, {
    hint: 'run `docker swarm init` there, or point execution.docker.host at a manager',
    cause: err,
  });
}

/** The workspace as a gzipped tar, or undefined when it is empty; refused above 500 KiB. */
export async function packWorkspace(dir: string): Promise<Buffer | undefined> {
  if (readdirSync(dir).length === 0) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of tar.pack(dir) as unknown as AsyncIterable<Buffer>) chunks.push(c);
  const gz = gzipSync(Buffer.concat(chunks));
  if (gz.length > MAX_WORKSPACE_IN) {
    throw new CaduceusError(
      'WorkspaceTooLarge',
      `the workspace is ${Math.round(gz.length / 1024)} KiB compressed; a Swarm job takes at most 500 KiB in`,
      { hint: 'keep large inputs out of the workspace (fetch them in the job), or use the docker mode' },
    );
  }
  return gz;
}

/** Replaces the workspace's content with the job's, keeping only files and directories. */
async function unpackWorkspace(archive: Buffer, dir: string): Promise<void> {
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const extract = tar.extract(dir, {
      // Links could point anywhere on this host: only plain files and directories come back.
      ignore: (_name, header) => header?.type !== 'file' && header?.type !== 'directory',
      readable: true,
      writable: true,
    });
    extract.on('finish', resolve).on('error', reject);
    const gunzip = createGunzip();
    gunzip.on('error', reject);
    Readable.from([archive]).pipe(gunzip).pipe(extract);
  });
}

/** The command's output, its exit code and the workspace archive, split at the marker lines. */
export function splitResult(logs: Buffer, mark: string): { output: Buffer; exitCode?: number; archive?: Buffer } {
  const text = logs.toString('latin1');
  const begin = text.lastIndexOf(`\n${mark} begin `);
  if (begin < 0) return { output: logs };
  const lineEnd = text.indexOf('\n', begin + 1);
  const code = Number(text.slice(begin + mark.length + 8, lineEnd));
  const end = text.indexOf(`${mark} end`, lineEnd);
  const b64 = text.slice(lineEnd + 1, end < 0 ? undefined : end).replace(/\s+/g, '');
  const archive = end < 0 ? undefined : Buffer.from(b64, 'base64');
  if (archive && archive.length > MAX_WORKSPACE_OUT) {
    throw new CaduceusError('WorkspaceTooLarge', 'the job wrote more than 64 MiB into its workspace', {
      hint: 'write large results elsewhere (an HTTP upload) or use the docker mode',
    });
  }
  // The wrapper printed a newline before the marker so that it starts a line: not output.
  const output = logs.subarray(0, Math.max(0, begin));
  return {
    output,
    exitCode: Number.isInteger(code) ? code : undefined,
    archive,
  };
}

/** Docker's multiplexed log stream (8-byte frame headers) to the stdout bytes. */
export function demux(raw: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  while (i + 8 <= raw.length) {
    const type = raw[i] as number;
    const size = raw.readUInt32BE(i + 4);
    // Not a frame header: the engine sent the log raw (a TTY service).
    if (type > 2 || raw[i + 1] !== 0 || raw[i + 2] !== 0 || raw[i + 3] !== 0) return raw;
    out.push(raw.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(out);
}
