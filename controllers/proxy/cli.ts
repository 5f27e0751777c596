// `caduceus proxy test`: sends one real request to the running proxy (address from --url
// or from the Proxy's status in the state store, key from CADUCEUS_PROXY_KEY or
// --key-env) and reports status, request id, latency and the answer. Exit 0 on 2xx.

import { existsSync, readFileSync } from 'node:fs';
import { Agent, request, type Dispatcher } from 'undici';
import { parse, runCommand, UsageError } from '../../reconciler/cli/args.js';
import { writeStructured } from '../../reconciler/cli/output.js';
import { openState } from '../../reconciler/cli/state-access.js';

const HELP = `usage: caduceus proxy test [--url URL | --name PROXY --state-dir DIR]
                           [--endpoint /v1/chat/completions|/v1/models] [--model M]
                           [--message TEXT] [--stream] [--key-env NAME] [--ca FILE] [--json]

Sends a real request to the running proxy and reports the HTTP status, the request id,
the latency and the answer. The address comes from --url, or from the status of the
Proxy resource (--name, needed when there are several) in --state-dir (default
.caduceus). The key is read from the environment variable CADUCEUS_PROXY_KEY, or the one
--key-env names, or else the key \`caduceus up\` generated for the Proxy (valueFrom:
{generated}); it is never printed. --endpoint defaults to /v1/models; for
/v1/chat/completions --model defaults to the first skill model that needs no params, and
--message (default "{}") is the user message (a JSON object of skill params, or text).
--ca trusts a PEM certificate (a self-signed proxy certificate).
Exit status: 0 on a 2xx answer, 1 otherwise, 2 on usage errors.`;

interface Answer {
  status: number;
  requestId: string | null;
  latencyMs: number;
  firstByteMs?: number;
  body: string;
}

/** The Proxy's status in the state directory: its address, and the file of a generated key. */
function proxyFromState(stateDir: string, name: string | undefined): { address: string; keyFile?: string } {
  const core = openState(stateDir) as NonNullable<ReturnType<typeof openState>>;
  const proxies = core.allStatus().filter((r) => r.kind === 'Proxy' && (name === undefined || r.name === name));
  core.store.close();
  if (proxies.length === 0)
    throw new UsageError(
      name ? `no Proxy named ${name} in ${stateDir}` : `no Proxy resource in ${stateDir}: pass --url`,
    );
  if (proxies.length > 1)
    throw new UsageError(`several Proxy resources (${proxies.map((p) => p.name).join(', ')}): pass --name`);
  const p = proxies[0] as (typeof proxies)[number];
  const address = p.observed.address;
  if (typeof address !== 'string') {
    const ready = p.conditions.find((c) => c.type === 'Ready');
    throw new UsageError(
      `Proxy ${p.name} is not serving (${ready?.reason ?? 'Unknown'}: ${ready?.message ?? 'no status yet'})`,
    );
  }
  const generated = p.observed.generatedKeys as Array<{ file: string }> | undefined;
  return { address, keyFile: generated?.[0]?.file };
}

/** A skill model the proxy describes as needing no params, else the first skill, else the first model. */
function defaultModel(
  models: Array<{ id: string; caduceus?: { params?: Array<{ required: boolean }> } }>,
): string | undefined {
  const skills = models.filter((m) => m.id.startsWith('skill/'));
  return skills.find((m) => (m.caduceus?.params ?? []).every((p) => !p.required))?.id ?? skills[0]?.id ?? models[0]?.id;
}

async function send(
  dispatcher: Dispatcher | undefined,
  url: string,
  key: string,
  method: 'GET' | 'POST',
  body?: unknown,
): Promise<Answer> {
  const started = performance.now();
  // undici request options: a body and its content-type only when there is a body.
  const res = await request(url, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    ...(dispatcher ? { dispatcher } : {}),
  });
  let firstByteMs: number | undefined;
  const chunks: Buffer[] = [];
  for await (const c of res.body) {
    if (firstByteMs === undefined) firstByteMs = performance.now() - started;
    chunks.push(c as Buffer);
  }
  const id = res.headers['x-request-id'];
  return {
    status: res.statusCode,
    requestId: typeof id === 'string' ? id : null,
    latencyMs: performance.now() - started,
    firstByteMs,
    body: Buffer.concat(chunks).toString('utf8'),
  };
}

/** The answer a person wants to read: the content, the model ids, or the error message. */
function summarize(endpoint: string, a: Answer, stream: boolean): string {
  try {
    if (stream && a.status < 300) {
      const parts: string[] = [];
      for (const line of a.body.split('\n')) {
        if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
        const ev = JSON.parse(line.slice(6)) as {
          choices?: Array<{ delta?: { content?: string } }>;
          error?: { message: string };
        };
        if (ev.error) return `error in stream: ${ev.error.message}`;
        parts.push(ev.choices?.[0]?.delta?.content ?? '');
      }
      return parts.join('');
    }
    const json = JSON.parse(a.body) as {
      error?: { message: string; type: string; code: string | null };
      data?: Array<{ id: string }>;
      choices?: Array<{ message?: { content?: string | null } }>;
    };
    if (json.error) return `${json.error.type}${json.error.code ? ` (${json.error.code})` : ''}: ${json.error.message}`;
    if (endpoint === '/v1/models') return (json.data ?? []).map((m) => m.id).join('\n');
    return json.choices?.[0]?.message?.content ?? a.body;
  } catch {
    return a.body;
  }
}

export function main(argv: string[]): Promise<number> {
  return runCommand(async () => {
    const [sub, ...rest] = argv;
    if (sub === '--help' || sub === '-h' || sub === undefined) {
      process.stdout.write(`${HELP}\n`);
      return sub === undefined ? 2 : 0;
    }
    if (sub !== 'test') throw new UsageError(`unknown subcommand "${sub}"\n\n${HELP}`);
    const args = parse(
      rest,
      {
        url: { type: 'string' },
        name: { type: 'string' },
        'state-dir': { type: 'string' },
        endpoint: { type: 'string' },
        model: { type: 'string' },
        message: { type: 'string' },
        stream: { type: 'boolean' },
        'key-env': { type: 'string' },
        ca: { type: 'string' },
        json: { type: 'boolean' },
      },
      HELP,
    );
    if (!args) return 0;
    const v = args.values;
    const endpoint = v.endpoint ?? '/v1/models';
    if (endpoint !== '/v1/models' && endpoint !== '/v1/chat/completions')
      throw new UsageError(`--endpoint must be /v1/models or /v1/chat/completions\n\n${HELP}`);
    const keyEnv = v['key-env'] ?? 'CADUCEUS_PROXY_KEY';
    const stateDir = v['state-dir'] ?? '.caduceus';
    let fromState: ReturnType<typeof proxyFromState> | undefined;
    if (v.url === undefined) fromState = proxyFromState(stateDir, v.name);
    else if (!process.env[keyEnv] && existsSync(stateDir)) {
      try {
        fromState = proxyFromState(stateDir, v.name);
      } catch {
        // --url names the proxy; the state directory was only a place to look for a generated key
      }
    }
    // The key: the variable when set (or named with --key-env), else the key `up` generated for this Proxy.
    let key = process.env[keyEnv];
    if (!key && v['key-env'] === undefined && fromState?.keyFile) key = readFileSync(fromState.keyFile, 'utf8').trim();
    if (!key)
      throw new UsageError(`set ${keyEnv} to a key the proxy accepts (or name another variable with --key-env)`);
    const base = (v.url ?? (fromState as { address: string }).address).replace(/\/+$/, '').replace(/\/v1$/, '');
    const dispatcher = v.ca ? new Agent({ connect: { ca: readFileSync(v.ca) } }) : undefined;

    let answer: Answer;
    let model = v.model;
    const stream = v.stream === true;
    try {
      if (endpoint === '/v1/models') {
        answer = await send(dispatcher, `${base}/v1/models`, key, 'GET');
      } else {
        if (!model) {
          const list = await send(dispatcher, `${base}/v1/models`, key, 'GET');
          model =
            list.status === 200
              ? defaultModel((JSON.parse(list.body) as { data: Parameters<typeof defaultModel>[0] }).data ?? [])
              : undefined;
          if (!model) throw new UsageError(`the proxy lists no model (${list.status}): pass --model`);
        }
        answer = await send(dispatcher, `${base}/v1/chat/completions`, key, 'POST', {
          model,
          messages: [{ role: 'user', content: v.message ?? '{}' }],
          stream,
        });
      }
    } catch (err) {
      if (err instanceof UsageError) throw err;
      process.stderr.write(`caduceus proxy test: cannot reach ${base}: ${(err as Error).message}\n`);
      return 1;
    } finally {
      await dispatcher?.close();
    }
    const ok = answer.status >= 200 && answer.status < 300;
    const text = summarize(endpoint, answer, stream);
    if (v.json) {
      writeStructured({
        url: `${base}${endpoint}`,
        model: model ?? null,
        status: answer.status,
        requestId: answer.requestId,
        latencyMs: Math.round(answer.latencyMs * 10) / 10,
        firstByteMs: answer.firstByteMs ?? null,
        answer: text,
      });
    } else {
      const lines = [
        `${endpoint === '/v1/models' ? 'GET ' : 'POST'} ${base}${endpoint}` +
          (model ? `  (model ${model}${stream ? ', stream' : ''})` : ''),
        `status:     ${answer.status}${ok ? '' : '  (failed)'}`,
        `request id: ${answer.requestId ?? '-'}`,
        `latency:    ${answer.latencyMs.toFixed(1)} ms` +
          (answer.firstByteMs !== undefined ? ` (first byte ${answer.firstByteMs.toFixed(1)} ms)` : ''),
        `answer:`,
        ...text.split('\n').map((l) => `  ${l}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return ok ? 0 : 1;
  });
}
