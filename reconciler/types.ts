// Shared vocabulary of the reconciler and its controllers: resources, snapshots,
// conditions, the controller interface and the services the composition root hands
// to controllers. Controllers import from here and never from each other.

import type { SpecByKind } from './specs.js';
import type { ConditionType, Reason, TerminalReason } from './reasons.js';

export type { ConditionType, Reason, TerminalReason } from './reasons.js';

export const API_VERSION = 'caduceus.dev/v1';
export const KINDS = ['Runtime', 'Skill', 'Task', 'GatewayPolicy', 'Proxy', 'Curator', 'ToolServer'] as const;
export type Kind = (typeof KINDS)[number];

/** Apply order: what others depend on first. Deletions run in reverse. */
export const APPLY_ORDER: readonly Kind[] = [
  'Runtime',
  'ToolServer',
  'Skill',
  'Task',
  'Proxy',
  'GatewayPolicy',
  'Curator',
];

export interface SourcePos {
  /** Path relative to the configuration root, with forward slashes. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

export interface Metadata {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Resource<K extends Kind = Kind> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: Metadata;
  spec: SpecByKind[K];
  /** Where the document starts. */
  source: SourcePos;
  /** sha256 (hex) of the canonical JSON of apiVersion, kind, metadata and spec after defaults. */
  hash: string;
}

export type ResourceKey = string; // `${Kind}/${name}`

export function keyOf(r: { kind: string; metadata: { name: string } }): ResourceKey {
  return `${r.kind}/${r.metadata.name}`;
}

export function splitKey(key: ResourceKey): { kind: Kind; name: string } {
  const i = key.indexOf('/');
  return { kind: key.slice(0, i) as Kind, name: key.slice(i + 1) };
}

/** One problem found while loading a revision. */
export interface Finding {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning';
  /** Stable rule id, e.g. `schema`, `duplicate-key`, `unknown-skill`. */
  rule: string;
  message: string;
}

/** The desired state of one revision: every resource, validated and defaulted. */
export interface Snapshot {
  revision: string;
  resources: ReadonlyMap<ResourceKey, Resource>;
}

// Resources grouped by kind, once per snapshot (snapshots are immutable): a controller that
// looks up the Runtime for each of 10,000 skills must not walk all of them each time.
const byKind = new WeakMap<Snapshot['resources'], Map<Kind, Resource[]>>();

/** The snapshot's resources of one kind, in snapshot order; a new array the caller may change. */
export function resourcesOfKind<K extends Kind>(snap: Snapshot, kind: K): Resource<K>[] {
  let groups = byKind.get(snap.resources);
  if (!groups) {
    groups = new Map();
    for (const r of snap.resources.values()) {
      const list = groups.get(r.kind);
      if (list) list.push(r);
      else groups.set(r.kind, [r]);
    }
    byKind.set(snap.resources, groups);
  }
  return (groups.get(kind)?.slice() ?? []) as Resource<K>[];
}

export function getResource<K extends Kind>(snap: Snapshot, kind: K, name: string): Resource<K> | undefined {
  return snap.resources.get(`${kind}/${name}`) as Resource<K> | undefined;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';
export type EventType = 'Normal' | 'Warning';

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  /** One of reasons.ts (a status written by an older version may hold a retired one). */
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/** A condition as the loop and controllers set it: the reason is from the closed vocabulary. */
export interface ConditionUpdate {
  type: ConditionType;
  status: ConditionStatus;
  reason: Reason;
  message: string;
}

export interface ResourceStatus {
  key: ResourceKey;
  kind: Kind;
  name: string;
  conditions: Condition[];
  /** Free-form facts a controller reports (bound address, next scheduled run, …). */
  observed: Record<string, unknown>;
  lastAppliedRevision?: string;
  appliedHash?: string;
  createdAt: string;
  updatedAt: string;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface ReconcileContext {
  key: ResourceKey;
  /** The revision being applied (commit SHA, or `worktree:<hash>`). */
  revision: string;
  /** The whole applied revision, for lookups across kinds (skills, the Runtime, …). */
  snapshot: Snapshot;
  /** Aborted when the loop shuts down. */
  signal: AbortSignal;
  log: Logger;
  /** Sets one condition; the loop persists it with the rest of the step's state in one transaction. */
  setCondition(type: ConditionType, status: ConditionStatus, reason: Reason, message: string): void;
  /** Merges facts into status.observed (bound address, readiness details, …). */
  setObserved(fields: Record<string, unknown>): void;
  /**
   * Emits an event a person would want to see that is not a change of condition (the loop
   * derives those): a listener moved, a run started, keys rotated.
   */
  event(type: EventType, reason: Reason, message: string): void;
}

/**
 * What retrying cannot fix: the loop records Ready=False and Stalled=True with this reason
 * and one event, and leaves the resource alone until its spec (its hash) changes.
 */
export interface TerminalOutcome {
  reason: TerminalReason;
  message: string;
}

/**
 * How a reconcile ended, besides "done": run again after a while, or stop until the spec
 * changes. Throwing means: retry with backoff.
 */
export type ReconcileResult =
  | { requeueAfter?: number; terminal?: never }
  | { terminal: TerminalOutcome; requeueAfter?: never };

/** Events about a resource outside a reconcile (a scheduled run finishing, …). */
export interface EventRecorder {
  /** `revision`: the revision the event belongs to, when there is one (the spec a run was started for). */
  record(object: ResourceKey, type: EventType, reason: Reason, message: string, revision?: string): void;
}

export interface Observed {
  status: ResourceStatus | undefined;
}

/**
 * One controller per kind. reconcile is level-triggered and idempotent: it reads the whole
 * desired (undefined means: prune) and observed state and makes the world match. Throwing
 * means: retry with backoff; `{ terminal }` means: only a spec change can help. The loop,
 * not the controller, owns queueing, backoff, conditions and transition events.
 */
export interface Controller {
  readonly kind: Kind;
  reconcile(
    ctx: ReconcileContext,
    desired: Resource | undefined,
    observed: Observed,
  ): Promise<ReconcileResult | undefined>;
  /** Called once when the loop stops: release listeners, timers, containers. */
  stop?(): Promise<void>;
}

// ---- Services shared across controllers through the composition root ----

export type ParamValue = string | number | boolean;

export interface RunTrigger {
  /** `cli`, `schedule`, `apply`, `proxy`, `gateway:discord`, … */
  source: string;
  /** Who asked, when known (`discord:1234`). */
  actor?: string;
}

export interface StepResult {
  index: number;
  id?: string;
  kind: 'run' | 'http' | 'file' | 'skill';
  status: 'succeeded' | 'failed' | 'skipped' | 'timedOut' | 'cancelled';
  exitCode?: number;
  durationMs: number;
  /** Last bytes of the step's output (or the HTTP body / file content). */
  outputTail: string;
  error?: string;
}

export interface SkillRunResult {
  runId: string;
  skill: string;
  version: string;
  status: 'succeeded' | 'failed' | 'timedOut' | 'cancelled';
  durationMs: number;
  steps: StepResult[];
  /** The final step's output, the skill's answer. */
  output: string;
  error?: string;
}

export interface SubtaskReport {
  name: string;
  status: 'succeeded' | 'failed' | 'timedOut' | 'cancelled';
  attempts: number;
  durationMs: number;
  /** The last output (a prompt subtask's: its final answer). */
  output: string;
  error?: string;
  /** Prompt subtasks: the agent run of the last attempt (`caduceus runs show <runId>` for the trace). */
  agent?: SubtaskAgentReport;
}

export interface SubtaskAgentReport {
  runId: string;
  stopReason: import('./agent-contract.js').AgentStopReason;
  answer: string;
  toolCalls: Array<{
    tool: string;
    status: import('./agent-contract.js').ToolCallStatus;
    durationMs: number;
    exitCode?: number;
  }>;
  usage: import('./agent-contract.js').AgentUsage;
}

export interface TaskReport {
  runId: string;
  task: string;
  status: 'succeeded' | 'failed' | 'cancelled' | 'skipped';
  durationMs: number;
  subtasks: SubtaskReport[];
}

export interface RunProgress {
  subtask?: string;
  state: 'queued' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'timedOut' | 'cancelled';
  attempt?: number;
  message?: string;
}

export interface RunOptions {
  trigger: RunTrigger;
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
  /** Run-history id of the caller (e.g. a task run), recorded as the parent of the runs this starts. */
  parentRunId?: string;
  /**
   * The caller's isolation (a Task's `spec.isolation`), applied to every shell step of a
   * skill run, nested skill calls included. Precedence, field by field: Runtime < the
   * skill's own `isolation` < this; except that a skill which itself asks for
   * `mode: docker` keeps its sandbox as declared: never moved to local, and the fields it
   * set win over these (this only fills what the skill left open).
   * For exec, ExecRequest.isolation is laid over this one.
   */
  isolation?: import('./specs.js').IsolationSpec;
  /**
   * An existing workspace to run in instead of a fresh one: the agent's, so that its shell
   * and skill tools see the files its file tools wrote. The caller made it and removes it.
   */
  workspace?: string;
}

export interface ExecRequest {
  /** Shell command (sh -c). Values reach it through env, never pasted into the string. */
  command: string;
  /** The shell that runs it (strict either way); unset is bash -eo pipefail. */
  shell?: import('./specs.js').StepShell;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Overrides the Runtime's execution mode and isolation for this process. */
  isolation?: import('./specs.js').IsolationSpec;
}

export interface ExecResult {
  status: 'succeeded' | 'failed' | 'timedOut' | 'cancelled';
  exitCode: number | null;
  durationMs: number;
  /** Tail of combined stdout/stderr, capped. */
  output: string;
  /** Bytes produced beyond the cap. */
  droppedBytes: number;
  /** CPU time and peak resident memory of the process and its children, when they could be measured. */
  usage?: { cpuMs: number; peakMemoryBytes: number };
}

/** How the proxy, the gateway, subagents and the CLI run work without importing the execution code. */
export interface Runner {
  runSkill(name: string, params: Record<string, ParamValue>, opts: RunOptions): Promise<SkillRunResult>;
  runTask(name: string, opts: RunOptions): Promise<TaskReport>;
  /** One shell process in a fresh workspace, local or in Docker per the Runtime. */
  exec(req: ExecRequest, opts: RunOptions): Promise<ExecResult>;
  /**
   * Proposes a new skill (one Skill YAML document, or a SKILL.md with `format: skill-md`)
   * through the curator: validated against the tracked revision, committed on its own
   * branch and offered as a pull request; the tracked branch is never touched. Provided by
   * the curator controller; the late-bound runner rejects with RunnerUnavailable when none
   * is registered. Rejects with CaduceusError SkillInvalid / SkillExists / ProposalClosed /
   * NoGitSource otherwise. Optional so that hand-built Runners (tests, benches) need not provide it; the
   * late-bound `deps.runner` always has it.
   */
  proposeSkill?(yaml: string, opts: ProposeSkillOptions): Promise<SkillProposal>;
  /**
   * Proposes notes for the memory file (a markdown file of the configuration) through the
   * curator: appended on the memory branch, offered as a pull request, never written to
   * the tracked branch. Provided by the curator controller; rejects like proposeSkill
   * (NoGitSource, RunnerUnavailable) and with MemoryInvalid for a file it may not edit.
   */
  proposeMemory?(notes: readonly string[], opts: ProposeMemoryOptions): Promise<MemoryProposal>;
  /**
   * Posts `text` to a channel of a gateway platform, as the platform's API does for a bot
   * (Slack chat.postMessage, Discord channel messages, Telegram sendMessage, the webhook's
   * callback), with the gateway's retries. Provided by the gateway controller; rejects with
   * DeliveryUnavailable when the platform is not served or cannot post to that channel.
   */
  deliver?(target: DeliveryTarget, text: string, opts: { trigger: RunTrigger; signal?: AbortSignal }): Promise<void>;
  /**
   * One agent run: the tool-calling loop against the Runtime's `llm` upstream (see
   * reconciler/agent-contract.ts for the request and result). Provided by the agent
   * controller. Rejects with CaduceusError LlmNotConfigured or SecretUnset before anything
   * runs when the upstream is missing or its key is unset (fail closed); every other
   * outcome, failures included, resolves with a result whose trace is stored.
   * Optional for hand-built Runners, like proposeSkill; the late-bound runner has it.
   */
  runAgent?(req: import('./agent-contract.js').AgentRequest): Promise<import('./agent-contract.js').AgentResult>;
  /**
   * The tools of the ToolServer resources (MCP servers) that are connected now; a server
   * that failed to start is absent, so the agent runs without it. Provided by the
   * toolservers controller; optional like runAgent.
   */
  serverTools?(): ServerTool[];
  /** Calls one tool of a connected ToolServer; never throws for the tool's own failure (isError). */
  callServerTool?(
    server: string,
    tool: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<{ isError: boolean; text: string }>;
}

/** One tool of a connected MCP server, as the agent offers it (`<server>__<tool>`). */
export interface ServerTool {
  server: string;
  tool: string;
  description: string;
  /** The tool's JSON Schema input, as the server declared it. */
  inputSchema: Record<string, unknown>;
}

export interface ProposeSkillOptions {
  reason: string;
  trigger: RunTrigger;
  /**
   * When the skill is a near-duplicate of an existing one (the curator's similarity check
   * and threshold), propose it as an update of that skill instead of refusing or adding a
   * second copy. Default false: a new skill only.
   */
  updateSimilar?: boolean;
  /** `skill-md`: the text is a SKILL.md, proposed as the folder `skills/<name>/`. Default `yaml`. */
  format?: SkillFormat;
}

/** How a proposed skill is written: one Skill YAML document, or an Agent Skills SKILL.md. */
export type SkillFormat = 'yaml' | 'skill-md';

/** Where a proposed skill went: see `caduceus curator show <proposalId>`. */
export interface SkillProposal {
  proposalId: string;
  /** `update`: the proposal rewrites the existing skill `skill`, which was similar to the one proposed. */
  action: 'create' | 'update';
  /** The name of the skill the pull request adds or changes. */
  skill: string;
  /** Similarity to the existing skill, for updates (0..1). */
  similarity?: number;
  /** Path of the new file relative to the configuration root. */
  file: string;
  branch: string;
  /** `unchanged`: the same skill was already proposed on that branch. */
  outcome: 'proposed' | 'unchanged';
  /** URL of the pull request, when the curator's forge opened one (not with `forge: none`). */
  pullRequest?: string;
}

export interface ProposeMemoryOptions {
  /** Config-relative markdown file the notes go into (the Runtime's `agent.memoryFile`). */
  file: string;
  reason: string;
  trigger: RunTrigger;
  /** The agent run the notes come from, named in the file and the pull request. */
  runId: string;
}

/** Where proposed memory went. */
export interface MemoryProposal {
  proposalId: string;
  file: string;
  branch: string;
  /** The notes that were new (notes already in the file or on the branch are left out). */
  notes: string[];
  /** `unchanged`: every note was already proposed or merged. */
  outcome: 'proposed' | 'unchanged';
  pullRequest?: string;
}

/** A channel of a gateway platform. */
export interface DeliveryTarget {
  platform: import('./specs.js').Platform;
  channel: string;
}

// ---- Composition: how controllers are wired in by `caduceus up` and the CLI ----

export interface HttpRoute {
  method: 'GET' | 'POST';
  /** Exact path, or a prefix when it ends with `/`. */
  path: string;
  handler(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void | Promise<void>;
}

export interface ControllerDeps {
  /** For a controller's own tables (runs, audit log, proposals); the loop's tables are not its to write. */
  store: import('./state/store.js').StateStore;
  /** Where a controller records events outside a reconcile (inside one: ctx.event). */
  events: EventRecorder;
  log: Logger;
  /** The state directory (workspaces, clones, caches live below it). */
  stateDir: string;
  /**
   * The deployment's stable id (CoreStore.instanceId): containers and Swarm services are
   * labelled with it, and garbage collection touches no others. Tests that build deps by
   * hand may leave it out; the store's owner id stands in then.
   */
  instanceId?: string;
  /** The snapshot currently applied; changes as revisions apply. */
  snapshot(): Snapshot;
  /**
   * Calls fn with each newly accepted snapshot (MCP clients are told when the tool list
   * changes); returns the unsubscribe. Absent where nothing follows git (one-off CLI runs).
   */
  watchSnapshot?(fn: (snap: Snapshot) => void): () => void;
  /** Late-bound: calls reach whichever registration provides runSkill / runTask. */
  runner: Runner;
  /** Shared Prometheus registry served on /metrics. */
  metrics: import('prom-client').Registry;
  /** Root of the configuration files on disk when known (file secret refs, TLS paths, sample data). */
  configDir?: string;
  /** The git repository `up` follows, for controllers that propose changes through git (the curator). */
  gitSource?: { repo: string; path?: string; branch?: string };
  /**
   * Resolves once `up` has applied its first revision (or it was rejected, or a minute has
   * passed): work that readiness does not need (collecting a crashed run's containers,
   * which loads dockerode) waits for it, so it does not delay /readyz. Deps built by hand
   * may leave it out; such work starts at once.
   */
  started?: Promise<void>;
}

/** What each controller folder's `register(deps)` returns to the composition root. */
export interface Registration {
  controllers: Controller[];
  runner?: Partial<Runner>;
  /** Routes mounted on the `up` server (e.g. the gateway's platform webhooks). */
  routes?: HttpRoute[];
  stop?(): Promise<void>;
}

/** A `caduceus` subcommand a controller contributes; its module is loaded only when run. */
export interface CommandSpec {
  name: string;
  /** One line for `caduceus --help`. */
  summary: string;
  /** Words that may follow the command (`run skill`, `proxy test`), for shell completion. */
  subcommands?: readonly string[];
  load(): Promise<{ main(argv: string[]): Promise<number> }>;
}

/**
 * The public face of a controller folder (its `index.ts`): the kinds it drives, the
 * subcommands it adds to the CLI, and `register`, which the composition root calls to
 * build its controllers, runner parts and HTTP routes.
 */
export interface ControllerModule {
  /** The folder name under controllers/. */
  name: string;
  kinds: readonly Kind[];
  commands: readonly CommandSpec[];
  register(deps: ControllerDeps): Registration;
}
