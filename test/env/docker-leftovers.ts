// The Docker side of the suite's end-of-run check: containers, Swarm services, configs and
// networks named caduceus-* or labelled caduceus.* that the run made and left. What existed
// at setup is never counted; what another suite running at the same time makes is told
// apart by its owner: each object's caduceus.owner label names the process that made it
// (host:pid), and that process's environment holds its run's TMPDIR while it lives, so the
// owner is read when the engine reports the creation (its event stream), and the instance
// (caduceus.instance) of an object known to be ours or theirs carries that to the rest.

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type Docker from 'dockerode';
import { newDocker } from '../../controllers/execution/dockerode-lib.js';

export type ObjectKind = 'container' | 'service' | 'config' | 'network';

export interface DockerObject {
  kind: ObjectKind;
  id: string;
  name: string;
  labels: Record<string, string>;
}

export interface Leftover extends DockerObject {
  /** Why it counts as the suite's: `name caduceus-*` and/or `label caduceus.<key>`. */
  pattern: string;
}

type Claim = 'ours' | 'theirs';

const SWARM_SERVICE = 'com.docker.swarm.service.id';

/** The patterns that make an object a Caduceus one, or undefined when none matches. */
export function caduceusPattern(o: Pick<DockerObject, 'name' | 'labels'>): string | undefined {
  const hits: string[] = [];
  if (o.name.replace(/^\//, '').startsWith('caduceus-')) hits.push('name caduceus-*');
  const label = Object.keys(o.labels)
    .filter((k) => k.startsWith('caduceus.'))
    .sort()[0];
  if (label) hits.push(`label ${label}`);
  return hits.length > 0 ? hits.join(', ') : undefined;
}

/** Whose run a live process on this host belongs to, by its TMPDIR; undefined when it is gone. */
function runOfOwner(owner: string | undefined, runDir: string): Claim | undefined {
  const m = /^(.*):(\d+)$/.exec(owner ?? '');
  if (!m || m[1] !== hostname()) return undefined;
  try {
    const env = readFileSync(`/proc/${m[2]}/environ`, 'utf8').split('\0');
    return env.includes(`TMPDIR=${runDir}`) ? 'ours' : 'theirs';
  } catch {
    return undefined;
  }
}

async function listAll(docker: Docker): Promise<DockerObject[]> {
  const out: DockerObject[] = [];
  const containers = await docker.listContainers({ all: true });
  for (const c of containers)
    out.push({ kind: 'container', id: c.Id, name: (c.Names?.[0] ?? '').replace(/^\//, ''), labels: c.Labels ?? {} });
  type Swarmed = { ID: string; Spec?: { Name?: string; Labels?: Record<string, string> } };
  // An engine outside a swarm answers 503 to the swarm lists: it has no such objects.
  const swarmed = (list: Promise<unknown>): Promise<Swarmed[]> => list.then((l) => l as Swarmed[]).catch(() => []);
  for (const s of await swarmed(docker.listServices()))
    out.push({ kind: 'service', id: s.ID, name: s.Spec?.Name ?? '', labels: s.Spec?.Labels ?? {} });
  for (const c of await swarmed(docker.listConfigs()))
    out.push({ kind: 'config', id: c.ID, name: c.Spec?.Name ?? '', labels: c.Spec?.Labels ?? {} });
  for (const n of (await docker.listNetworks()) as Array<{ Id: string; Name: string; Labels?: Record<string, string> }>)
    out.push({ kind: 'network', id: n.Id, name: n.Name, labels: n.Labels ?? {} });
  return out.filter((o) => caduceusPattern(o) !== undefined);
}

const key = (o: Pick<DockerObject, 'kind' | 'id'>): string => `${o.kind}:${o.id}`;

export class DockerWatch {
  private readonly claims = new Map<string, Claim>();
  private readonly instances = new Map<string, Claim>();
  private readonly pending = new Set<Promise<void>>();

  private constructor(
    private readonly docker: Docker,
    private readonly runDir: string,
    private readonly before: Set<string>,
    private readonly events: NodeJS.ReadableStream,
  ) {}

  /** Snapshots the engine's Caduceus objects and follows its creations; undefined without an engine. */
  static async start(runDir: string, docker: Docker = newDocker()): Promise<DockerWatch | undefined> {
    try {
      await Promise.race([docker.ping(), new Promise((_, reject) => setTimeout(reject, 3000).unref())]);
      // Subscribed before the snapshot: nothing made in between escapes both.
      const events = (await docker.getEvents({
        filters: JSON.stringify({ type: ['container', 'service', 'config', 'network'], event: ['create'] }),
      })) as NodeJS.ReadableStream;
      const before = new Set((await listAll(docker)).map(key));
      const watch = new DockerWatch(docker, runDir, before, events);
      watch.follow();
      return watch;
    } catch {
      return undefined;
    }
  }

  private follow(): void {
    let buffered = '';
    this.events.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        const done = this.created(JSON.parse(line) as DockerEvent).finally(() => this.pending.delete(done));
        this.pending.add(done);
      }
    });
    // The engine went away (a test restarting it): the list at the end still finds what is new.
    this.events.on('error', () => undefined);
  }

  /** Reads the owner of a new object while it is (most likely) still alive. */
  private async created(e: DockerEvent): Promise<void> {
    const kind = e.Type as ObjectKind;
    const id = e.Actor?.ID ?? '';
    let labels: Record<string, string> = {};
    let name = e.Actor?.Attributes?.name ?? '';
    try {
      if (kind === 'container') {
        // A container's event carries its labels among the attributes.
        labels = { ...(e.Actor?.Attributes ?? {}) };
      } else if (kind === 'network') {
        const n = (await this.docker.getNetwork(id).inspect()) as { Name: string; Labels?: Record<string, string> };
        [name, labels] = [n.Name, n.Labels ?? {}];
      } else {
        const o = (await (kind === 'service' ? this.docker.getService(id) : this.docker.getConfig(id)).inspect()) as {
          Spec?: { Name?: string; Labels?: Record<string, string> };
        };
        [name, labels] = [o.Spec?.Name ?? name, o.Spec?.Labels ?? {}];
      }
    } catch {
      return; // Gone already: nothing left to find.
    }
    if (!caduceusPattern({ name, labels })) return;
    const claim =
      runOfOwner(labels['caduceus.owner'], this.runDir) ??
      this.claims.get(key({ kind: 'service', id: labels[SWARM_SERVICE] ?? '' }));
    if (!claim) return;
    this.claims.set(key({ kind, id }), claim);
    const instance = labels['caduceus.instance'];
    if (instance && !this.instances.has(instance)) this.instances.set(instance, claim);
  }

  /** Whose an object is: its own claim, its service's, its instance's; ours when nobody else's. */
  private claimOf(o: DockerObject): Claim {
    return (
      this.claims.get(key(o)) ??
      runOfOwner(o.labels['caduceus.owner'], this.runDir) ??
      this.claims.get(key({ kind: 'service', id: o.labels[SWARM_SERVICE] ?? '' })) ??
      this.instances.get(o.labels['caduceus.instance'] ?? '') ??
      'ours'
    );
  }

  /**
   * The run's objects still there, waiting up to `settleMs` for ones on their way out (a
   * removed service's container, a config still in use for a moment).
   */
  async leftovers(settleMs: number): Promise<Leftover[]> {
    const deadline = Date.now() + settleMs;
    for (;;) {
      await Promise.allSettled([...this.pending]);
      const left = (await listAll(this.docker))
        .filter((o) => !this.before.has(key(o)) && this.claimOf(o) === 'ours')
        .map((o) => ({ ...o, pattern: caduceusPattern(o) as string }));
      if (left.length === 0 || Date.now() > deadline) return left;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Removes what the run left, services first (their tasks' containers go with them). */
  async remove(left: Leftover[]): Promise<void> {
    const order: ObjectKind[] = ['service', 'container', 'config', 'network'];
    for (const kind of order) {
      await Promise.allSettled(
        left
          .filter((o) => o.kind === kind)
          .map((o) => {
            if (kind === 'container') return this.docker.getContainer(o.id).remove({ force: true });
            if (kind === 'service') return this.docker.getService(o.id).remove();
            if (kind === 'config') return this.docker.getConfig(o.id).remove();
            return this.docker.getNetwork(o.id).remove();
          }),
      );
    }
  }

  close(): void {
    (this.events as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  }
}

interface DockerEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** One line per leftover: kind, name, short id and the pattern it matched. */
export function describeLeftovers(left: Leftover[]): string {
  return left.map((o) => `${o.kind} ${o.name} ${o.id.slice(0, 12)} (${o.pattern})`).join('; ');
}
