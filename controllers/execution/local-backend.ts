// Runs one shell process on this machine: in its own process group (so a timeout or a
// cancellation kills everything it started), in the run's workspace, with an environment
// built only from the Runtime's allow-list plus the variables of the request.

import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { ExecResult } from '../../reconciler/types.js';
import type { Backend, ProcessSpec } from './backend.js';
import { KILL_GRACE_MS } from './backend.js';
import { timerDelay } from '../../reconciler/duration.js';
import { LineSplitter, OutputBuffer } from './output-buffer.js';
import { sampleProcessGroup, startSampler } from './usage.js';

export interface LocalBackendOptions {
  /** Names of host variables a process may inherit. */
  envAllowlist: () => readonly string[];
  /** Host directory exposed as CADUCEUS_CONFIG_DIR, when known. */
  configDir?: string;
  killGraceMs?: number;
  hostEnv?: NodeJS.ProcessEnv;
}

export function buildLocalEnv(
  allow: readonly string[],
  hostEnv: NodeJS.ProcessEnv,
  extra: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of allow) {
    const v = hostEnv[name];
    if (v !== undefined) env[name] = v;
  }
  return { ...env, ...extra };
}

/** Signals a whole process group; a group that is gone already is fine. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: every member has exited.
  }
}

export class LocalBackend implements Backend {
  constructor(private readonly opts: LocalBackendOptions) {}

  run(spec: ProcessSpec): Promise<ExecResult> {
    const started = performance.now();
    const env = buildLocalEnv(this.opts.envAllowlist(), this.opts.hostEnv ?? process.env, {
      ...spec.env,
      CADUCEUS_WORKSPACE: spec.workspace,
      // No config dir, no variable (an undefined value would still be a key of the env).
      ...(this.opts.configDir ? { CADUCEUS_CONFIG_DIR: this.opts.configDir } : {}),
    });
    const grace = this.opts.killGraceMs ?? KILL_GRACE_MS;
    const out = new OutputBuffer(spec.outputLimitBytes);
    // One splitter per stream, so a partial stdout line never merges with stderr.
    const lines = spec.onLine ? [new LineSplitter(spec.onLine), new LineSplitter(spec.onLine)] : undefined;

    return new Promise<ExecResult>((resolvePromise) => {
      if (spec.signal?.aborted) {
        resolvePromise({ status: 'cancelled', exitCode: null, durationMs: 0, output: '', droppedBytes: 0 });
        return;
      }
      const child = spawn('/bin/sh', ['-c', spec.command], {
        cwd: spec.workspace,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const pgid = child.pid;
      const sampler =
        pgid === undefined
          ? undefined
          : startSampler(
              () => sampleProcessGroup(pgid),
              (u) => spec.onUsage?.({ ...u, source: 'proc' }),
            );
      let ending: 'timedOut' | 'cancelled' | undefined;
      let terminating = false;
      let spawnError: Error | undefined;

      // SIGTERM to the whole group now, SIGKILL to whatever is left after the grace period.
      // The SIGKILL timer outlives 'close' on purpose: a child that ignores SIGTERM and
      // closed its pipes would otherwise survive the run.
      const terminate = (): void => {
        if (terminating || child.pid === undefined) return;
        terminating = true;
        const pid = child.pid;
        killGroup(pid, 'SIGTERM');
        setTimeout(() => killGroup(pid, 'SIGKILL'), grace).unref();
      };
      const stop = (why: 'timedOut' | 'cancelled'): void => {
        if (ending) return;
        ending = why;
        terminate();
      };
      const timer =
        spec.timeoutMs !== undefined ? setTimeout(() => stop('timedOut'), timerDelay(spec.timeoutMs)) : undefined;
      const onAbort = (): void => stop('cancelled');
      spec.signal?.addEventListener('abort', onAbort, { once: true });

      const onData =
        (which: 0 | 1) =>
        (chunk: Buffer): void => {
          out.push(chunk);
          lines?.[which]?.push(chunk);
        };
      child.stdout.on('data', onData(0));
      child.stderr.on('data', onData(1));
      child.on('error', (err) => {
        spawnError = err;
      });
      // The shell is done: whatever it left running in its group goes too, otherwise a
      // background child would outlive the run and keep the output pipes open.
      child.on('exit', () => {
        // The group is being ended: its last figures are the ones already sampled.
        sampler?.stop();
        terminate();
        // A process that left the group (setsid) may still hold the pipes: stop reading.
        setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
        }, grace + 500).unref();
      });
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        spec.signal?.removeEventListener('abort', onAbort);
        for (const l of lines ?? []) l.flush();
        if (spawnError) out.push(`\ncaduceus: could not start /bin/sh: ${spawnError.message}\n`);
        const exitCode = spawnError ? null : (code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : null));
        const usage = sampler?.stop();
        resolvePromise({
          usage,
          status: ending ?? (code === 0 ? 'succeeded' : 'failed'),
          exitCode,
          durationMs: performance.now() - started,
          output: out.toString(),
          droppedBytes: out.dropped,
        });
      });
    });
  }
}

function signalNumber(s: NodeJS.Signals): number | undefined {
  return constants.signals[s];
}
