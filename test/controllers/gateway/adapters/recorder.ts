// A ServerResponse stand-in for calling an adapter's respond() without a server: it
// records the status and the body (parsed when JSON) that the adapter wrote.

import type { ServerResponse } from 'node:http';
import type { SecretRef } from '../../../../reconciler/specs.js';

export interface Recorded {
  res: ServerResponse;
  status: () => number | undefined;
  body: () => string;
  json: () => unknown;
}

export function recorder(): Recorded {
  let status: number | undefined;
  let body = '';
  const res = {
    writeHead(s: number) {
      status = s;
      return res;
    },
    end(text?: string) {
      body = text ?? '';
      return res;
    },
  };
  return {
    res: res as unknown as ServerResponse,
    status: () => status,
    body: () => body,
    json: () => JSON.parse(body) as unknown,
  };
}

/** Resolves secret references by env name from a fixed table, as the gateway's resolver would. */
export function secrets(values: Record<string, string>): (ref: SecretRef) => string {
  return (ref) => {
    const name = 'env' in ref.valueFrom ? ref.valueFrom.env : ref.valueFrom.file;
    const v = values[name];
    if (v === undefined) throw new Error(`unset ${name}`);
    return v;
  };
}

export const envRef = (name: string): SecretRef => ({ valueFrom: { env: name } });
