// The closed vocabulary of status: the condition types and every reason a condition or an
// event carries, each with its meaning and, for problems, what to do. Controllers and the
// loop accept only these; the README's troubleshooting tables are generated from them.

export const CONDITION_TYPES = {
  Ready: 'the resource does what its spec says (True), or the reason it does not (False)',
  Reconciling: 'an attempt failed and another one is scheduled (True), or nothing is in progress (False)',
  Stalled: 'the resource cannot progress: its spec needs a change, or attempts keep failing',
} as const;

export type ConditionType = keyof typeof CONDITION_TYPES;

export interface ReasonInfo {
  /** One line: what the reason means. */
  meaning: string;
  /** For reasons that report a problem: what a person does about it. */
  action?: string;
  /**
   * Only a change of the spec can fix it: the loop records it once as Stalled=True and
   * does not retry or requeue the resource until its spec hash changes.
   */
  terminal?: true;
}

export const REASONS = {
  // The loop, for every kind
  ReconciliationSucceeded: { meaning: 'the controller applied the spec' },
  Stored: { meaning: 'no controller drives this kind here; the spec is stored for the others to read' },
  Idle: { meaning: 'nothing is in progress' },
  Progressing: { meaning: 'the resource is not stalled' },
  ReconciliationFailed: {
    meaning: 'the controller failed; the loop retries with exponential backoff (500 ms up to 5 min)',
    action: 'read the message; `caduceus events` shows each new error',
  },
  RetryingWithBackoff: { meaning: 'the last attempt failed and the next one is scheduled' },
  RepeatedFailures: {
    meaning: 'five or more attempts in a row failed; retries continue',
    action: 'fix what the message names; the next retry picks it up',
  },
  ReconcileFailed: {
    meaning: 'an attempt failed with an error different from the last one',
    action: 'read the message',
  },
  Created: { meaning: 'a resource new in git was applied' },
  Updated: { meaning: 'a changed spec was applied' },
  Pruned: { meaning: 'a resource removed from git was torn down' },
  RevisionAccepted: { meaning: 'a revision passed validation and is being applied' },
  RevisionApplied: { meaning: 'every resource of a revision has been reconciled' },
  RevisionRejected: {
    meaning: 'a revision failed validation; the last good one keeps running',
    action: 'run `caduceus validate` and fix every file:line:column it lists',
  },
  PruneGuard: {
    meaning: 'a revision would prune every resource, or more than the allowed share; it is held, nothing applied',
    action:
      'if the prune is intended, start `up` with `--allow-prune` ' +
      'or annotate a resource `caduceus.dev/allow-prune: "true"`',
  },
  StateWriteFailed: {
    meaning: 'the state database refused a write (disk full, I/O error); the revision is retried with backoff',
    action: 'free disk space or fix the file system; nothing of the revision applies until the write goes through',
  },
  GitFetchFailed: {
    meaning: 'fetching the remote failed; the last fetched revision keeps running',
    action: 'check the URL, the network and the credentials; fetches are retried',
  },
  GitFetchRecovered: { meaning: 'fetching the remote works again' },
  RunsAbandoned: {
    meaning: 'the previous `up` on this state directory crashed or was killed; its runs in progress are abandoned',
    action: 'nothing: their processes ended with it, and tasks whose run was abandoned run again',
  },
  LeaderElected: {
    meaning: 'this replica of `caduceus up` took the leader lease; the runs of a leader that died are abandoned',
  },

  // Runtime and Skill
  Ready: { meaning: 'the Runtime or Skill can run work' },
  MissingPrerequisite: {
    meaning: 'packages the Runtime lists in `prerequisites.packages` are not installed',
    action: 'install them, or set `prerequisites.autoInstall: true`; checked again every minute',
  },
  InstallingPrerequisites: { meaning: 'apt-get is installing missing prerequisites (`autoInstall`)' },
  PrerequisitesInstalled: { meaning: 'the automatic install of prerequisites succeeded' },
  PrerequisiteInstallFailed: {
    meaning: 'the automatic install of prerequisites failed; tried again after 10 minutes',
    action: 'read the apt-get output in the event; install the packages by hand',
  },
  ImageNotFound: {
    meaning: 'the sandbox image is not on the Docker engine (no registry is reachable to pull it)',
    action: 'run `caduceus sandbox build`; checked again every minute',
  },
  DockerUnavailable: {
    meaning: 'the Docker engine does not answer',
    action: 'start dockerd or point DOCKER_HOST at an engine; checked again every minute',
  },
  SwarmInactive: {
    meaning: '`execution.mode: swarm` but the engine is not a manager of an active swarm',
    action: 'run `docker swarm init` on the engine, or point `execution.docker.host` at a manager',
  },
  UnknownSkill: {
    meaning: 'the skill calls a skill that is not in the applied revision',
    action: 'add the called skill or fix the name in the step',
  },

  // Task
  Running: { meaning: 'a run of the current spec is in progress' },
  Completed: { meaning: 'the run of the current spec succeeded' },
  Failed: {
    meaning: 'the run of the current spec failed; a task without a schedule runs once per spec',
    action: '`caduceus runs --task NAME` shows why; change the spec or `caduceus run task NAME`',
  },
  Scheduled: { meaning: 'registered on its schedule; the message names the next run' },
  ScheduleRemoved: { meaning: 'the task no longer has a schedule and runs once per spec' },
  InvalidSchedule: {
    meaning: 'the cron expression, time zone or interval of `spec.schedule` is invalid',
    action: 'fix `spec.schedule` (five or six cron fields, an IANA time zone)',
    terminal: true,
  },
  QueueFull: {
    meaning: 'the run was not admitted: the Runtime queue limit of waiting subtasks is reached; tried again in 5 s',
    action: 'wait for running tasks, or raise `concurrency.queueLimit` in the Runtime',
  },
  TaskStarted: { meaning: 'a run of the task started' },
  TaskSucceeded: { meaning: 'a run of the task succeeded' },
  TaskFailed: {
    meaning: 'a run of the task failed; the message names the subtasks that did not succeed',
    action: '`caduceus runs --task NAME` shows each attempt',
  },
  TaskCancelled: { meaning: 'a run was cancelled (spec changed, task removed, Replace policy, shutdown)' },
  RunSkipped: { meaning: 'a scheduled firing was skipped: a run is still going (concurrencyPolicy Forbid)' },
  RunReplaced: { meaning: 'a running run was cancelled for a newer scheduled one (concurrencyPolicy Replace)' },
  RunRejected: {
    meaning: 'a scheduled run could not start (queue full, unknown skill, …)',
    action: 'read the message; the next firing tries again',
  },
  ResultDelivered: { meaning: "a run's result was posted to the Task's `delivery` channel" },
  DeliveryFailed: {
    meaning: "a run's result could not be posted to the Task's `delivery` channel",
    action: 'read the message; check the GatewayPolicy platform, its bot token and the channel',
  },

  // ToolServer
  ToolServerConnected: { meaning: 'the MCP server answered and its tools are offered to the agent' },
  ToolServerFailed: {
    meaning: 'the MCP server did not start or answer; the agent runs without its tools; retried every 30 s',
    action: 'read the message (the command, the URL, the header secrets); fix the server or the spec',
  },

  // Proxy
  Listening: { meaning: 'the proxy serves its address with its keys' },
  PublicBindWithoutTLS: {
    meaning: 'the proxy binds a non-loopback address without `tls`; nothing is served',
    action: 'set `spec.tls`, or `allowPublicBind: true` to serve plain HTTP on purpose',
    terminal: true,
  },
  KeysUnset: {
    meaning: '`spec.keys` is empty; the proxy has no unauthenticated mode',
    action: 'add at least one key reference',
    terminal: true,
  },
  SecretUnset: {
    meaning: 'a `valueFrom` secret names an unset or empty variable or file; that part stays stopped',
    action: 'export the variable or write the file; it is read again on the next resync',
  },
  InvalidSecret: {
    meaning: 'a secret is set but unusable (e.g. not a valid Ed25519 public key)',
    action: 'fix the secret value',
  },
  TLSFileUnreadable: {
    meaning: 'the TLS certificate or key file cannot be read; nothing is served',
    action: 'check the `spec.tls` paths and permissions; read again on the next resync',
  },
  PortInUse: {
    meaning: 'another process holds the port; retried every few seconds',
    action: 'free the port or change `spec.port`',
  },
  PortNotPermitted: {
    meaning: 'binding the port is not permitted',
    action: 'use a port above 1023 or grant the capability',
  },
  BindAddressUnavailable: { meaning: '`spec.bind` is not an address of this machine', action: 'fix `spec.bind`' },
  ListenFailed: { meaning: 'the listener could not start for another reason', action: 'read the message' },
  ListenerStarted: { meaning: 'the proxy started serving' },
  ListenerMoved: { meaning: 'the proxy moved to a new address; the old listener drains its requests' },
  ListenerDied: {
    meaning: 'the listener was found not listening and is started again',
    action: 'none; look for the cause in the log if it repeats',
  },
  ListenerStopped: { meaning: 'the proxy stopped serving; the message says why', action: 'see the Ready reason' },
  KeysRotated: { meaning: 'the proxy keys changed and apply without a restart' },
  KeyGenerated: {
    meaning:
      'a client key the Proxy asks for with `valueFrom: {generated}` was created in <state-dir>/secrets (mode 0600)',
  },
  TLSReloaded: { meaning: 'a changed TLS certificate was loaded without a restart' },

  // GatewayPolicy
  Serving: { meaning: 'every configured platform of the policy is served' },
  InvalidPolicy: {
    meaning: 'the policy cannot be compiled (e.g. an invalid rateLimit.per); every platform is stopped',
    action: 'fix the field the message names',
    terminal: true,
  },
  NoPlatforms: {
    meaning: 'the policy configures no platform, so nothing is served',
    action: 'add a platform under `spec.platforms`',
    terminal: true,
  },
  PlatformConflict: {
    meaning: 'another policy, earlier by name, serves the same platform',
    action: 'configure each platform in one policy only',
  },
  NotStarted: { meaning: 'a platform was not started', action: 'read the message' },
  InvalidUser: {
    meaning: 'role users that are not `platform:id` with a known platform; they admit nobody',
    action: 'write users as slack:U123, discord:123, telegram:42 or webhook:name',
  },

  // Curator
  NoGitSource: {
    meaning: 'the curator proposes changes through git, but `up` follows no git repository',
    action: 'run `caduceus up --repo …`',
    terminal: true,
  },
  ForgeMisconfigured: {
    meaning: 'the forge needs `spec.forge.repo` and a `spec.forge.token` reference',
    action: 'set both, or `forge.type: none`',
    terminal: true,
  },
  ResultInvalid: {
    meaning: 'the last curator run produced a configuration that fails validation; nothing was pushed',
    action: '`caduceus curator status` shows the findings',
  },
  RunFailed: {
    meaning: 'the last curator run failed',
    action: '`caduceus curator status` shows why; the next scheduled run tries again',
  },
  CuratorRunSucceeded: { meaning: 'a scheduled curator run finished; the message names its outcome' },
  CuratorRunFailed: {
    meaning: 'a scheduled curator run failed or produced an invalid result',
    action: '`caduceus curator status` shows why',
  },
} as const satisfies Record<string, ReasonInfo>;

export type Reason = keyof typeof REASONS;

/** The reasons only a spec change can fix; see ReasonInfo.terminal. */
export type TerminalReason = {
  [R in Reason]: (typeof REASONS)[R] extends { terminal: true } ? R : never;
}[Reason];

export function isTerminal(reason: string): reason is TerminalReason {
  return (REASONS as Record<string, ReasonInfo>)[reason]?.terminal === true;
}
