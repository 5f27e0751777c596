// What the skill engine and exec hand to a backend for one shell process, and the kill
// grace shared by both backends.

import type { ExecResult } from '../../reconciler/types.js';
import type { EffectiveIsolation } from './runtime-config.js';

export interface ProcessSpec {
  runId: string;
  /** Run by `sh -c`; values reach it only through env. */
  command: string;
  /** Variables for this process (params, step outputs, request env). */
  env: Record<string, string>;
  /** Host path of the run's workspace. */
  workspace: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  outputLimitBytes: number;
  /** Complete output lines as they arrive, for live progress. */
  onLine?: (line: string) => void;
  /** CPU and memory of the process (group or container) while it runs, for `caduceus top`. */
  onUsage?: (u: LiveUsage) => void;
}

export interface LiveUsage {
  cpuMs: number;
  cpuPercent: number | null;
  memoryBytes: number;
  peakMemoryBytes: number;
  processes: number;
  source: 'proc' | 'docker';
}

export interface Backend {
  run(spec: ProcessSpec, iso: EffectiveIsolation): Promise<ExecResult>;
}

/** Time between SIGTERM and SIGKILL on timeout or cancellation. */
export const KILL_GRACE_MS = 2000;
