// Every code a CaduceusError may carry, with what it means and what to do about it: the
// closed vocabulary callers match on (never the message) and the source of the README's
// error table. A new code is added here first; the compiler refuses any other string.

export interface ErrorCodeInfo {
  /** One line: what went wrong. */
  meaning: string;
  /** One line: what a person does about it. */
  action: string;
}

export const ERROR_CODES = {
  // The server of `caduceus up`
  ListenAddressInUse: {
    meaning: 'the `--listen` address of `caduceus up` is taken by another process',
    action: 'stop the other process, or choose another address with `--listen HOST:PORT`',
  },
  ListenNotPermitted: {
    meaning: 'the `--listen` port needs privileges this process does not have',
    action: 'use a port above 1023',
  },
  ListenAddressUnavailable: {
    meaning: 'the `--listen` host is not an address of this machine',
    action: 'use 127.0.0.1, 0.0.0.0 or an address of this machine',
  },

  // The git source and the configuration on disk
  GitRepoNotFound: {
    meaning: '`--repo` is not a git repository, or does not exist',
    action: 'pass the path of a git repository or a remote URL, or run `caduceus init`',
  },
  GitNoCommits: {
    meaning: 'the repository has no commit yet',
    action: 'commit the configuration (`git add -A && git commit`)',
  },
  GitBranchNotFound: {
    meaning: 'the branch to follow does not exist locally or on the remote',
    action: 'check `--branch`',
  },
  GitRevisionNotFound: {
    meaning: 'the revision given to `plan --rev` does not exist',
    action: 'give a branch, tag or commit of the repository',
  },
  GitPathNotFound: {
    meaning: 'the configuration directory (`--path`) is not in the commit or on disk',
    action: 'check `--path`; it is relative to the repository root',
  },
  GitBadPath: { meaning: '`--path` leads out of the repository', action: 'give a path inside the repository' },
  GitBadObject: { meaning: 'a git object id is malformed', action: 'report it: the source asked git for a bad id' },
  GitObjectMissing: {
    meaning: 'a git object the commit names cannot be read',
    action: 'run `git fsck` in the repository; re-clone a broken mirror',
  },
  GitReadFailed: {
    meaning: 'git failed while reading a tree or objects',
    action: 'read the git message in the error; check the repository',
  },
  GitFetchFailed: {
    meaning: 'fetching the remote failed; the last fetched revision keeps running',
    action: 'check the URL, the network and the credentials; it is retried with backoff',
  },
  GitSourceClosed: { meaning: 'the git source was stopped (shutting down)', action: 'nothing: it happens on exit' },
  WorktreeNeedsLocalRepo: {
    meaning: '`--worktree` watches files and needs a local repository',
    action: 'drop `--worktree` or give a local path',
  },
  PlanNeedsLocalRepo: {
    meaning: '`plan --repo` reads a local repository, not a URL',
    action: 'clone it first and pass the clone',
  },
  ConfigDirUnreadable: {
    meaning: 'the configuration directory cannot be read',
    action: 'check that it exists, is a directory and is readable',
  },
  NoGitSource: {
    meaning: 'the curator proposes changes through git, but `up` follows no git repository',
    action: 'run `caduceus up --repo …`',
  },
  SchemaDefaults: {
    meaning: "a kind's schema rejects an empty spec, so its defaults cannot be read (a default is missing)",
    action: 'report it: every property of the spec needs a default or must be optional',
  },
  // Values in a spec or a request
  InvalidDuration: {
    meaning: 'a duration is not written like 500ms, 30s, 5m, 1h30m or 14d, or is zero',
    action: 'fix the value',
  },
  InvalidQuantity: { meaning: 'a memory size is not written like 256Mi, 1Gi or 512m', action: 'fix the value' },
  InvalidSchedule: {
    meaning: 'a cron expression, time zone or interval of a schedule is invalid',
    action: 'fix `spec.schedule` (five or six cron fields, an IANA time zone)',
  },
  InvalidDockerHost: {
    meaning: '`execution.docker.host` is not a unix://, tcp:// or ssh:// URL',
    action: 'write unix:///var/run/docker.sock, tcp://HOST:2376 (with tls) or ssh://USER@HOST',
  },
  InvalidHeader: { meaning: 'an HTTP step header would contain a line break', action: 'fix the header or its param' },
  SecretUnset: {
    meaning: 'a `valueFrom` secret reference names an unset or empty variable or file',
    action: 'export the variable or write the file; it is read again on the next reconcile',
  },
  TLSFileUnreadable: {
    meaning: "a proxy's TLS certificate or key file cannot be read",
    action: 'check `spec.tls` paths and permissions',
  },
  // Running skills and tasks
  UnknownSkill: {
    meaning: 'no skill (or alias) of that name in the applied revision',
    action: '`caduceus status` lists the applied skills',
  },
  TaskNotFound: {
    meaning: 'no task of that name in the configuration',
    action: 'check the name against the Task files',
  },
  MissingParam: { meaning: 'a required skill param was not given', action: 'pass it (`-p name=value`)' },
  UnknownParam: {
    meaning: 'a param the skill does not declare was given',
    action: 'check the names in the skill spec',
  },
  InvalidParam: { meaning: 'a param value does not match its declared type', action: 'pass a value of the right type' },
  UnknownReference: {
    meaning: 'a `{{ params.X }}` or `{{ steps.ID.output }}` interpolation names nothing with a value',
    action: 'fix the reference in the skill step',
  },
  SkillDepthExceeded: {
    meaning: 'skill calls nest deeper than 8',
    action: 'a skill probably calls itself; break the cycle',
  },
  PathOutsideWorkspace: {
    meaning: 'a file step path leads out of the run workspace',
    action: 'use a relative path without `..` or symlinks that lead out',
  },
  NotARegularFile: {
    meaning: 'a file step names a FIFO, socket, device or directory; it reads and writes regular files only',
    action: 'point the step at a regular file in the workspace',
  },
  FileNotFound: {
    meaning: 'a file step reads a file that is not in the run workspace',
    action: 'write it in an earlier step, or fix the path',
  },
  NetworkDisabled: {
    meaning: 'an http step belongs to a skill sandboxed with `network: none`; it would reach out from the host',
    action: 'set `isolation.network: bridge` if the skill must call out, or drop the http step',
  },
  QueueFull: {
    meaning:
      'starting the run would exceed the Runtime queue limit of waiting work (subtasks, or runs waiting for a slot)',
    action: 'wait for running tasks, or raise `spec.concurrency.queueLimit` in the Runtime',
  },
  RunCancelled: {
    meaning: 'the run was cancelled (or timed out) while it waited in the queue for a free slot',
    action: 'nothing: it never started; run it again when the queue is shorter',
  },
  RunnerUnavailable: {
    meaning: 'no registered controller provides the runner method that was called',
    action: 'run it under `caduceus up`, which registers every controller',
  },
  // The state directory
  StateDirLocked: {
    meaning: 'another `caduceus up` holds the state directory (its pid, host and start time are named)',
    action: 'stop that process first, or give this one another `--state-dir`',
  },
  StateCorrupt: {
    meaning: 'the state database is not a readable SQLite database, or fails its integrity check',
    action: 'move state.db aside (its revision and status are rebuilt from git; run history is lost) or restore a copy',
  },
  // The agent
  LlmNotConfigured: {
    meaning: 'an agent run needs `spec.llm` with a `model` in the Runtime, and there is none',
    action: 'add `spec.llm` (baseURL, model, apiKey) to the Runtime; agent runs stay off until then',
  },
  UnknownAgentTool: {
    meaning: 'an agent allow-list names something that is neither a skill nor an agent tool',
    action:
      'use a skill name, shell, read_file, write_file, list_files, http_get, delegate, remember, or skills/files/http',
  },
  InvalidAgentRequest: {
    meaning: 'an agent run was asked for without a prompt or messages',
    action: 'give a prompt (`caduceus ask "…"`) or messages',
  },
  ToolNotAllowed: {
    meaning: 'a delegated child asked for a tool its parent run may not use',
    action: "give the child a subset of the parent's tools",
  },
  DeliveryUnavailable: {
    meaning: 'a result cannot be posted: the platform is not served, or cannot post to that channel',
    action: 'configure the platform in a GatewayPolicy with the channel listed (and a botToken for Slack or Discord)',
  },
  DeliveryFailed: {
    meaning: "the platform's API refused or did not take a posted result after retries",
    action: 'read the status in the message; check the bot token and that the bot is in the channel',
  },
  MemoryInvalid: {
    meaning: 'remember notes cannot go into the memory file named in the Runtime',
    action: 'set `spec.agent.memoryFile` to a markdown file inside the configuration',
  },
  // The state store
  StateUnavailable: {
    meaning: 'the PostgreSQL state store does not answer, refuses the login, or has no such database',
    action: 'check the server and the URL given by `--state` or CADUCEUS_STATE_URL',
  },
  // Docker
  DockerUnavailable: {
    meaning: 'the Docker engine does not answer',
    action: 'start dockerd, or point DOCKER_HOST at an engine',
  },
  SwarmInactive: {
    meaning: '`execution.mode: swarm` needs an engine in swarm mode and this one is not a manager',
    action: 'run `docker swarm init` on the engine (or point `execution.docker.host` at a manager)',
  },
  WorkspaceTooLarge: {
    meaning:
      'a Swarm job takes its workspace in a config object (at most 500 KiB compressed) and back in its log (64 MiB)',
    action: 'keep large files out of the workspace, or run that skill in the docker mode',
  },
  ImageNotFound: {
    meaning: 'the sandbox image is not on the Docker engine (no registry to pull from)',
    action: 'run `caduceus sandbox build`',
  },
  BusyboxMissing: {
    meaning: "Debian's busybox-static, which the sandbox image is built from, could not be installed",
    action: 'as root: `apt-get install -y busybox-static`, then `caduceus sandbox build`',
  },
  SandboxBuildFailed: { meaning: 'building the sandbox image failed', action: 'read the tar or docker message' },
  ToolServerEngineUnsupported: {
    meaning: "a ToolServer's command runs in the sandbox through the docker CLI, which gets no certificates or SSH key",
    action: 'use an engine reachable without them (unix://, tcp:// on a trusted network), or give the server a url',
  },
  // The curator and forges
  CuratorNeedsRepo: {
    meaning: 'a curator run that pushes, or a skill proposal, needs a git repository',
    action: 'pass `--repo`, or `--dry-run` to only print the proposals',
  },
  CuratorNoBranch: {
    meaning: 'the branch the curator should build on is unknown or missing on the remote',
    action: 'pass `--branch`',
  },
  CuratorBusy: {
    meaning: 'another curator run holds the lock',
    action: 'wait for it; a lock older than 30 minutes is taken over',
  },
  CuratorRefusedPush: {
    meaning: 'the curator was asked to push a branch outside its own prefix',
    action: 'report it: the curator only pushes `curator/…` branches',
  },
  ForgeMisconfigured: {
    meaning: 'the forge needs `spec.forge.repo` and a `spec.forge.token` reference',
    action: 'set both in the Curator spec',
  },
  ForgeUnreachable: { meaning: 'the forge API could not be reached', action: 'check `spec.forge.url` and the network' },
  ForgeRequestFailed: {
    meaning: 'the forge API answered with an error status',
    action: 'read the status and body in the message; check the token scopes',
  },
  SkillInvalid: {
    meaning: 'a proposed skill is not one valid Skill document',
    action: 'fix the skill YAML and propose it again',
  },
  SkillExists: { meaning: 'a proposed skill has the name of an existing one', action: 'choose another name' },
  ProposalClosed: {
    meaning: 'the same skill was proposed before and its pull request closed without merging',
    action: 'change the skill before proposing it again',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;
