// The messages between the PostgreSQL facade (main thread) and its worker: one request
// at a time, answered on a MessagePort and signalled through a shared Int32 so the main
// thread can block on Atomics.wait and read the answer with receiveMessageOnPort.

import type { MessagePort } from 'node:worker_threads';

export type Request =
  | { op: 'query'; text: string; values: unknown[]; name?: string }
  | { op: 'exec'; text: string }
  | { op: 'close' };

export type Reply =
  | { ok: true; rows: Array<Record<string, unknown>>; rowCount: number }
  | { ok: false; message: string; code?: string; detail?: string };

export interface WorkerInit {
  url: string;
  port: MessagePort;
  /** Int32Array over a SharedArrayBuffer: the worker sets [0] to 1 and notifies when a reply is posted. */
  signal: SharedArrayBuffer;
  /** Seconds; a query that runs longer is cancelled by the server. */
  statementTimeoutMs: number;
  applicationName: string;
}

/** Index in the shared Int32Array, and its values. */
export const SLOT = 0;
export const PENDING = 0;
export const ANSWERED = 1;
