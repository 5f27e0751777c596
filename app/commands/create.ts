// `caduceus create skill|task|gateway-role|proxy NAME …`: the YAML of a new resource, the
// way `flux create … --export` prints it. It is checked with the loader against the
// configuration in --dir before it is shown, and only ever printed or, with --write,
// written into the working tree for review and commit: live state never changes here.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { createHash } from 'node:crypto';
import { isMap, isSeq, parseDocument, stringify } from 'yaml';
import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { API_VERSION, type Resource } from '../../reconciler/types.js';
import { formatFinding } from '../../reconciler/finding-format.js';

const HELP = `usage: caduceus create skill NAME --run CMD [--description TEXT] [--param NAME[:TYPE][=DEFAULT]]...
                       [--version V] [--timeout DURATION] [--alias NAME]...
       caduceus create task NAME (--skill SKILL | --run CMD)... [-p key=value]... [--schedule CRON]
                       [--timezone TZ] [--concurrency N] [--description TEXT]
       caduceus create gateway-role NAME --user PLATFORM:ID... [--task T]... [--skill S]... [--status]
                       [--policy NAME]
       caduceus create proxy NAME [--port N] [--bind ADDR] [--key-env VAR | --key-file PATH |
                       --generated-key NAME] [--preload SKILL]... [--upstream URL [--upstream-key-env VAR]]

Prints the YAML of a new resource (--export says so explicitly), checked against the
configuration in --dir (default .). With --write it is written into that directory
instead: skills/NAME.yaml, tasks/NAME.yaml, proxies/NAME.yaml, or for a gateway role
inserted into the GatewayPolicy file (comments and formatting kept). Nothing is applied:
review, commit and push, and caduceus up applies it.

  --param NAME[:TYPE][=DEFAULT]  a skill parameter; TYPE string (default), number,
                                 boolean or duration; without a default it is required
  -p key=value                   a parameter of the task's skill (with one --skill)`;

type Doc = Record<string, unknown>;

const OPTIONS = {
  dir: { type: 'string' },
  export: { type: 'boolean' },
  write: { type: 'boolean' },
  run: { type: 'string', multiple: true },
  description: { type: 'string' },
  param: { type: 'string', multiple: true },
  version: { type: 'string' },
  timeout: { type: 'string' },
  alias: { type: 'string', multiple: true },
  skill: { type: 'string', multiple: true },
  p: { type: 'string', short: 'p', multiple: true },
  schedule: { type: 'string' },
  timezone: { type: 'string' },
  concurrency: { type: 'string' },
  user: { type: 'string', multiple: true },
  task: { type: 'string', multiple: true },
  status: { type: 'boolean' },
  policy: { type: 'string' },
  port: { type: 'string' },
  bind: { type: 'string' },
  'key-env': { type: 'string' },
  'key-file': { type: 'string' },
  'generated-key': { type: 'string' },
  preload: { type: 'string', multiple: true },
  upstream: { type: 'string' },
  'upstream-key-env': { type: 'string' },
} as const;

type Values = NonNullable<ReturnType<typeof parse<typeof OPTIONS>>>['values'];

function resource(kind: string, name: string, spec: Doc): Doc {
  return { apiVersion: API_VERSION, kind, metadata: { name }, spec };
}

function scalar(text: string): string | number | boolean {
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

function skillDoc(name: string, v: Values): Doc {
  if (!v.run?.length) throw new UsageError(`a skill needs --run CMD (one per step)\n\n${HELP}`);
  const params = (v.param ?? []).map((p) => {
    const m = /^([a-z][a-z0-9_-]*)(?::(string|number|boolean|duration))?(?:=(.*))?$/s.exec(p);
    if (!m) throw new UsageError(`--param takes NAME[:TYPE][=DEFAULT], got "${p}"`);
    const type = m[2] ?? 'string';
    const out: Doc = { name: m[1], type };
    if (m[3] !== undefined) out.default = type === 'number' || type === 'boolean' ? scalar(m[3]) : m[3];
    else out.required = true;
    return out;
  });
  return resource('Skill', name, {
    version: v.version ?? '0.1.0',
    description: v.description ?? `TODO: what ${name} does`,
    // Unset options are undefined, which YAML leaves out of the printed document.
    aliases: v.alias?.length ? v.alias : undefined,
    params: params.length ? params : undefined,
    timeout: v.timeout || undefined,
    steps: v.run.map((run) => ({ run })),
  });
}

function taskDoc(name: string, v: Values): Doc {
  const skills = v.skill ?? [];
  const runs = v.run ?? [];
  if (skills.length + runs.length === 0) throw new UsageError(`a task needs --skill SKILL or --run CMD\n\n${HELP}`);
  if (v.p?.length && skills.length !== 1) throw new UsageError('-p applies when the task has exactly one --skill');
  const params: Doc = {};
  for (const kv of v.p ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`-p takes key=value, got "${kv}"`);
    params[kv.slice(0, i)] = scalar(kv.slice(i + 1));
  }
  const subtasks = [
    ...skills.map((skill) => ({ name: skill, skill, params: Object.keys(params).length ? params : undefined })),
    ...runs.map((run, i) => ({ name: `step-${i + 1}`, run })),
  ];
  const concurrency = v.concurrency !== undefined ? Number(v.concurrency) : undefined;
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0))
    throw new UsageError('--concurrency takes a positive integer');
  return resource('Task', name, {
    description: v.description || undefined,
    concurrency,
    schedule: v.schedule ? { cron: v.schedule, timezone: v.timezone ?? 'UTC' } : undefined,
    subtasks,
  });
}

function roleDoc(name: string, v: Values): Doc {
  if (!v.user?.length) throw new UsageError(`a gateway role needs --user PLATFORM:ID\n\n${HELP}`);
  return {
    name,
    users: v.user,
    permissions: { tasks: v.task ?? [], skills: v.skill ?? [], status: v.status === true },
  };
}

function proxyDoc(name: string, v: Values): Doc {
  const refs = [v['key-env'], v['key-file'], v['generated-key']].filter((x) => x !== undefined);
  if (refs.length > 1) throw new UsageError('give one of --key-env, --key-file or --generated-key');
  const key = v['key-env']
    ? { env: v['key-env'] }
    : v['key-file']
      ? { file: v['key-file'] }
      : { generated: v['generated-key'] ?? `${name}-key` };
  const port = v.port !== undefined ? Number(v.port) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new UsageError('--port takes 0 to 65535');
  if (v['upstream-key-env'] && !v.upstream) throw new UsageError('--upstream-key-env needs --upstream URL');
  return resource('Proxy', name, {
    bind: v.bind || undefined,
    port,
    keys: [{ valueFrom: key }],
    preload: v.preload?.length ? v.preload : undefined,
    upstream: v.upstream
      ? {
          baseURL: v.upstream,
          apiKey: v['upstream-key-env'] ? { valueFrom: { env: v['upstream-key-env'] } } : undefined,
        }
      : undefined,
  });
}

/** `# yaml-language-server` line pointing at the repository's combined schema, when it has one. */
function modeline(dir: string, file: string): string {
  const schema = join(dir, 'schemas', 'caduceus.schema.json');
  if (!existsSync(schema)) return '';
  return `# yaml-language-server: $schema=${relative(dirname(join(dir, file)), schema)
    .split(sep)
    .join('/')}\n`;
}

/** Loads DIR with `text` at `file` (added or replacing it) and returns the errors in that file. */
async function check(dir: string, file: string, text: string): Promise<string[]> {
  const { Loader, readConfigDirectory } = await import('../../reconciler/loader.js');
  const files = existsSync(dir) ? (await readConfigDirectory(dir)).filter((f) => f.path !== file) : [];
  const id = createHash('sha1').update(text).digest('hex');
  files.push({ path: file, id, read: async () => Buffer.from(text) });
  const { findings } = await new Loader().load(files);
  return findings.filter((f) => f.severity === 'error' && f.file === file).map(formatFinding);
}

/** The GatewayPolicy file to add a role to, with the role inserted (comments kept). */
async function withRole(dir: string, role: Doc, policy: string | undefined): Promise<{ file: string; text: string }> {
  const { loadDirectory } = await import('../../reconciler/loader.js');
  const { resources } = await loadDirectory(dir);
  const policies = resources.filter(
    (r): r is Resource<'GatewayPolicy'> => r.kind === 'GatewayPolicy' && (!policy || r.metadata.name === policy),
  );
  if (policies.length !== 1)
    throw new UsageError(
      policies.length === 0
        ? `no GatewayPolicy${policy ? ` named ${policy}` : ''} in ${dir}`
        : `several GatewayPolicy resources (${policies.map((p) => p.metadata.name).join(', ')}): pass --policy`,
    );
  const target = policies[0] as Resource<'GatewayPolicy'>;
  if (target.spec.roles.some((r) => r.name === role.name))
    throw new UsageError(`GatewayPolicy/${target.metadata.name} already has a role named ${String(role.name)}`);
  const file = target.source.file;
  const text = readFileSync(join(dir, file), 'utf8');
  // The document of that policy within its file; the role is added as text after the last
  // role, so every other line (comments, flow lists, spacing) stays as it was.
  const parts = text.split(/^---[ \t]*$/m);
  for (const [i, part] of parts.entries()) {
    const doc = parseDocument(part, { keepSourceTokens: true });
    if (doc.getIn(['metadata', 'name']) !== target.metadata.name || doc.get('kind') !== 'GatewayPolicy') continue;
    const roles = doc.getIn(['spec', 'roles'], true);
    const last = isSeq(roles) && !roles.flow ? roles.items.at(-1) : undefined;
    const first = isSeq(roles) ? roles.items[0] : undefined;
    if (last && first && isMap(last) && last.range && first && isMap(first) && first.range) {
      const lineStart = part.lastIndexOf('\n', first.range[0] - 1) + 1;
      const indent = ' '.repeat(Math.max(0, first.range[0] - lineStart - 2));
      const end = part.indexOf('\n', last.range[1] - 1);
      const at = end < 0 ? part.length : end + 1;
      const block = stringify([role])
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => indent + l)
        .join('\n');
      parts[i] = `${part.slice(0, at)}${end < 0 ? '\n' : ''}${block}\n${part.slice(at)}`;
    } else {
      // No block list of roles to extend: the document is written again by the yaml library.
      if (isSeq(roles)) roles.add(doc.createNode(role));
      else doc.setIn(['spec', 'roles'], doc.createNode([role]));
      parts[i] = (i > 0 ? '\n' : '') + doc.toString();
    }
    return { file, text: parts.join('---') };
  }
  throw new UsageError(`could not find GatewayPolicy/${target.metadata.name} in ${file}`);
}

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const args = parse(argv, OPTIONS, HELP);
    if (!args) return 0;
    const [what, name, ...extra] = args.positionals;
    const v = args.values;
    const kinds = ['skill', 'task', 'gateway-role', 'proxy'];
    if (!what || !kinds.includes(what)) throw new UsageError(`say what to create: ${kinds.join(', ')}\n\n${HELP}`);
    if (!name) throw new UsageError(`name the ${what}\n\n${HELP}`);
    if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}\n\n${HELP}`);
    if (v.export && v.write) throw new UsageError('give --export (print) or --write (into the tree), not both');
    const dir = resolve(v.dir ?? '.');

    let file: string;
    let text: string;
    if (what === 'gateway-role') {
      const role = roleDoc(name, v);
      if (!v.write) {
        // The role as an item to paste under spec.roles of the GatewayPolicy.
        process.stdout.write(stringify([role]));
        return 0;
      }
      ({ file, text } = await withRole(dir, role, v.policy));
    } else {
      const doc = what === 'skill' ? skillDoc(name, v) : what === 'task' ? taskDoc(name, v) : proxyDoc(name, v);
      file = `${what === 'proxy' ? 'proxies' : `${what}s`}/${name}.yaml`;
      text = modeline(dir, file) + stringify(doc, { lineWidth: 0 });
    }
    const errors = await check(dir, file, text);
    if (errors.length > 0) {
      process.stderr.write(`caduceus create: the ${what} would not validate:\n${errors.join('\n')}\n`);
      return 1;
    }
    if (!v.write) {
      process.stdout.write(text);
      return 0;
    }
    const path = join(dir, file);
    if (what !== 'gateway-role' && existsSync(path)) throw new UsageError(`${file} exists already in ${dir}`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    process.stdout.write(`wrote ${file}; review it, then git add ${file} && git commit\n`);
    return 0;
  });
}
