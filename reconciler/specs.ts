// The spec of every resource kind, as TypeScript sees it after schema validation and
// defaulting. schemas/*.json is the source of truth for users and editors; these types
// mirror it for the code, and test/reconciler/schemas.test.ts keeps the two in step.

/** A duration such as `500ms`, `30s`, `5m`, `1h30m`, `14d`. */
export type Duration = string;

/** Secrets are only ever references; a literal value is a validation error. */
export type SecretRef = { valueFrom: { env: string } | { file: string } };

/**
 * A key clients present to us (the Proxy's keys): a SecretRef, or a random key Caduceus
 * generates once into `<state-dir>/secrets/<name>` (mode 0600). Only keys Caduceus checks
 * can be generated; keys it is given by others (upstream, platforms) cannot.
 */
export type KeyRef = SecretRef | { valueFrom: { generated: string } };

export interface RetryPolicy {
  /** Total attempts including the first (default 3). */
  maxAttempts: number;
  /** Delay before the second attempt (default 1s); doubles each attempt. */
  initialDelay: Duration;
  /** Cap on one delay (default 1m). */
  maxDelay: Duration;
  /** Multiplier between delays (default 2). */
  factor: number;
  /** Fraction of random jitter applied to each delay, 0..1 (default 0.2). */
  jitter: number;
}

export type ExecutionMode = 'local' | 'docker' | 'swarm';

export interface IsolationSpec {
  /** Overrides the Runtime's execution mode for one skill or task. */
  mode?: ExecutionMode;
  image?: string;
  network?: 'none' | 'bridge';
  /** Memory limit such as `512Mi`, `1Gi`, or `unlimited` (never 0). */
  memory?: string;
  cpus?: number | 'unlimited';
  pids?: number | 'unlimited';
  readOnly?: boolean;
  /** uid:gid the container runs as (default 65534:65534). */
  user?: string;
  /** Swarm placement constraints (`node.labels.pool == review`). */
  placement?: string[];
  /** Resources Swarm reserves for the job on its node. */
  reservations?: { memory?: string; cpus?: number };
}

/** The Docker engine of the docker and swarm modes (default: DOCKER_HOST, else the local socket). */
export interface DockerEngineSpec {
  host?: string;
  tls?: { ca: SecretRef; cert: SecretRef; key: SecretRef };
  sshKey?: SecretRef;
}

export interface RuntimeSpec {
  execution: {
    mode: ExecutionMode;
    /** Environment variables a local process may inherit (PATH, HOME, LANG, TZ by default). */
    envAllowlist: string[];
    /** Bytes of stdout+stderr kept per process (default 1 MiB); the rest is counted, not kept. */
    outputLimitBytes: number;
    docker?: DockerEngineSpec;
  };
  /** Limits default to 512Mi, 1 CPU and 256 processes; only `unlimited` switches one off. */
  isolation: Required<Pick<IsolationSpec, 'image' | 'network' | 'readOnly' | 'memory' | 'cpus' | 'pids'>> &
    Pick<IsolationSpec, 'user' | 'placement' | 'reservations'>;
  prerequisites: { packages: string[]; autoInstall: boolean };
  concurrency: {
    /** Subtasks in flight when a task does not say (default 3). */
    default: number;
    /** Hard ceiling for any task (default 6). */
    maximum: number;
    /** Subtasks waiting beyond the ceiling before new work is rejected (default 100). */
    queueLimit: number;
  };
  retry: RetryPolicy;
  llm?: LlmSpec;
  agent: AgentSettingsSpec;
  skills: {
    /** Tool calls of one successful agent run from which it is proposed as a skill (default 7). */
    autoCreateThreshold: number;
    /** Propose long successful agent runs as skills (default true). */
    autoCreate: boolean;
  };
  /** How long the state database keeps its logs (see reconciler/state/retention.ts). */
  retention: Record<RetentionClass, RetentionLimit>;
}

/** The logs the state database bounds: events, audit rows, finished runs. */
export type RetentionClass = 'events' | 'audit' | 'runs';

export interface RetentionLimit {
  /** Rows older than this go (defaults: events 30d, audit 90d, runs 90d). */
  maxAge: Duration;
  /** Only the newest this many rows stay (defaults: events 10000, audit and runs 100000). */
  maxRows: number;
}

/** The OpenAI-compatible upstream of agent runs. */
export interface LlmSpec {
  baseURL: string;
  /** Needed by agent runs; a run without one fails closed. */
  model?: string;
  apiKey?: SecretRef;
  /** Bound of one model call, retries excluded (default 2m). */
  timeout: Duration;
  /** Retries of a model call on 408/409/429/5xx and connection errors, with backoff (default 2). */
  maxRetries: number;
  /** Ask for streamed answers by default (default false; a caller may ask per run). */
  stream: boolean;
}

export interface AgentLimitsSpec {
  maxTurns: number;
  maxToolCalls: number;
  timeout: Duration;
  toolTimeout: Duration;
  toolOutputBytes: number;
  tokenBudget?: number;
  delegateTimeout: Duration;
}

export interface AgentSettingsSpec {
  /** Markdown files (config-relative, `*` in the file name) injected as a system message into every run. */
  context: string[];
  /** Allow-list of runs that declare none (default: skills, files, http). */
  tools: string[];
  limits: AgentLimitsSpec;
  /**
   * Markdown file (config-relative) that `remember` notes are proposed into, through the
   * curator's pull request; unset: notes stay in the run's trace.
   */
  memoryFile?: string;
}

/** Who may use the agent through an entry point (a Proxy, a GatewayPolicy role), and with which tools. */
export interface AgentAccessSpec {
  enabled: boolean;
  /** Allow-list of those runs (default: the Runtime's `agent.tools`). */
  tools?: string[];
}

/** Where a Task's result is posted: a channel of a gateway platform. */
export interface DeliverySpec {
  platform: Platform;
  channel: string;
}

/** A Task subtask's or a Skill's agent settings. */
export interface AgentUseSpec {
  /** Allow-list: skill names, builtin tools (shell, read_file, …) and groups (skills, files, http). */
  tools?: string[];
  limits?: Partial<AgentLimitsSpec>;
}

export type ParamType = 'string' | 'number' | 'boolean' | 'enum' | 'duration';

export interface SkillParam {
  name: string;
  type: ParamType;
  required: boolean;
  default?: string | number | boolean;
  /** Allowed values when type is enum. */
  values?: string[];
  description?: string;
}

export interface HttpStep {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Statuses that count as success (default: any 2xx). */
  expectStatus?: number[];
}

export interface FileStep {
  /** Path relative to the run's workspace; it may not leave it. */
  path: string;
  action: 'read' | 'write' | 'append';
  content?: string;
}

export interface SkillCallStep {
  name: string;
  params?: Record<string, string | number | boolean>;
}

/**
 * The shell of a `run` step or subtask. Both are strict, as in CI: `bash` runs
 * `bash --noprofile --norc -eo pipefail`, `sh` runs `sh -e`; unset is bash (in a container:
 * the image's sh with `-eo pipefail`).
 */
export type StepShell = 'bash' | 'sh';

/** Exactly one of run, http, file, skill is set. */
export interface SkillStep {
  /** Identifier later steps use to read this step's output (STEP_<ID>_OUTPUT). */
  id?: string;
  name?: string;
  run?: string;
  /** Shell of a `run` step (see StepShell). */
  shell?: StepShell;
  http?: HttpStep;
  file?: FileStep;
  skill?: SkillCallStep;
  timeout?: Duration;
  continueOnError?: boolean;
}

export interface SkillSpec {
  version: string;
  description: string;
  params: SkillParam[];
  steps: SkillStep[];
  /** Whole-skill timeout (default 10m). */
  timeout: Duration;
  isolation?: IsolationSpec;
  aliases: string[];
  /** The tools an agent following this skill may use (`caduceus ask --skill`). */
  agent?: Pick<AgentUseSpec, 'tools'>;
  /** Markdown for the agent, given when it chooses the skill (a SKILL.md body lands here). */
  instructions?: string;
  /** Set by the loader for a skill read from an Agent Skills folder (`skills/NAME/SKILL.md`). */
  agentSkill?: AgentSkillSource;
}

export interface AgentSkillSource {
  /** The folder, relative to the configuration root. */
  folder: string;
  /** Files of the folder besides SKILL.md (scripts/…, references/…), relative to it. */
  files: string[];
  license?: string;
  compatibility?: string;
  allowedTools?: string;
  metadata?: Record<string, string>;
}

/** Exactly one of skill, run, prompt is set. */
export interface Subtask {
  name: string;
  skill?: string;
  params?: Record<string, string | number | boolean>;
  run?: string;
  /** Shell of a `run` subtask (see StepShell). */
  shell?: StepShell;
  prompt?: string;
  /** Allow-list and limits of a prompt subtask's agent run. */
  agent?: AgentUseSpec;
  timeout?: Duration;
}

export interface TaskSpec {
  description?: string;
  subtasks: Subtask[];
  /** Subtasks in flight; defaults to the Runtime's default (3), capped by its maximum (6). */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  /** Whole-task timeout (default 1h). */
  timeout: Duration;
  schedule?: {
    cron: string;
    timezone: string;
    concurrencyPolicy: 'Forbid' | 'Allow' | 'Replace';
  };
  isolation?: IsolationSpec;
  /** Runs the Task controller starts (schedule, apply) post their result here. */
  delivery?: DeliverySpec;
}

export type Platform = 'discord' | 'slack' | 'telegram' | 'webhook';

export interface PlatformBase {
  /** Channel ids (or chat ids) from which commands are accepted. Empty admits no channel. */
  channels: string[];
  /** Base URL of the platform's reply API; tests point it at a loopback server. */
  apiBaseURL?: string;
  /** Messages that are not commands go to the agent, as `ask …` would (default false). */
  freeText: boolean;
}

export interface GatewayPolicySpec {
  platforms: {
    discord?: PlatformBase & { applicationId: string; publicKey: SecretRef; botToken?: SecretRef };
    slack?: PlatformBase & { signingSecret: SecretRef; botToken?: SecretRef };
    telegram?: PlatformBase & { secretToken: SecretRef; botToken: SecretRef };
    webhook?: PlatformBase & { secret: SecretRef; callbackURL?: string };
  };
  roles: Array<{
    name: string;
    /** `platform:userId`, e.g. `discord:81234567890`. */
    users: string[];
    permissions: { tasks: string[]; skills: string[]; status: boolean; agent?: AgentAccessSpec };
  }>;
  rateLimit: { requests: number; per: Duration };
  audit: { level: 'all' | 'refused' | 'none' };
}

export interface ProxySpec {
  port: number;
  bind: string;
  /** Bearer keys clients must present; at least one. */
  keys: KeyRef[];
  tls?: { cert: string; key: string };
  preload: string[];
  upstream?: { baseURL: string; apiKey?: SecretRef; timeout: Duration };
  allowPublicBind: boolean;
  injectSkills: boolean;
  projectContext?: string;
  limits: { maxBodyBytes: number; requestsPerMinute: number };
  /** Browser origins allowed cross-origin; none by default (no CORS headers at all). */
  cors: { allowedOrigins: string[] };
  /** The `caduceus/agent` model: the agent loop run server-side on the client's messages. */
  agent?: AgentAccessSpec;
  /** The MCP endpoint `/mcp` on the same listener; tasks are tools only when asked for. */
  mcp: { enabled: boolean; tasks: boolean };
}

export type CuratorAction = 'consolidate' | 'prune' | 'update';

export interface CuratorSpec {
  schedule: { every: Duration; cron?: string; timezone: string };
  actions: CuratorAction[];
  thresholds: {
    similarity: number;
    pruneAfter: Duration;
    staleAfter: Duration;
    failureRate: number;
    window: Duration;
  };
  archive: boolean;
  archiveDir: string;
  forge: {
    type: 'github' | 'gitea' | 'gitlab' | 'none';
    url?: string;
    repo?: string;
    token?: SecretRef;
  };
  branchPrefix: string;
  labels: string[];
  /** Most proposals one run makes (default 50); the rest wait for a later run. */
  maxProposals?: number;
}

/** An MCP server whose tools the agent may use (exactly one of command, url). */
export interface ToolServerSpec {
  command?: string[];
  url?: string;
  headers?: Record<string, SecretRef>;
  timeout: Duration;
  tools?: string[];
}

export interface SpecByKind {
  Runtime: RuntimeSpec;
  Skill: SkillSpec;
  Task: TaskSpec;
  GatewayPolicy: GatewayPolicySpec;
  Proxy: ProxySpec;
  Curator: CuratorSpec;
  ToolServer: ToolServerSpec;
}
