// `${{ params.NAME }}` and `${{ steps.ID.output }}` in the fields of http, file and skill
// steps. Shell steps never get this: they read PARAM_* and STEP_*_OUTPUT from their
// environment. Each caller says how a value is encoded where it lands (URL-encoded in
// URLs, JSON-escaped in JSON bodies, verbatim in file content).

import type { ParamValue } from '../../reconciler/types.js';
import { CaduceusError } from '../../reconciler/errors.js';

const REF = /\$\{\{\s*(params\.([A-Za-z0-9_-]+)|steps\.([A-Za-z0-9_-]+)\.output)\s*\}\}/g;

export interface Scope {
  params: Record<string, ParamValue>;
  /** Output of each earlier step by id; empty for a step that failed (continueOnError). */
  steps: Record<string, string>;
  /** Status of each earlier step by id (`succeeded`, `failed`, `timedOut`, …). */
  outcomes: Record<string, string>;
}

export function interpolate(
  text: string,
  scope: Scope,
  encode: (v: string) => string = (v) => v,
  field = 'step',
): string {
  return text.replace(REF, (_m, _all: string, param: string | undefined, step: string | undefined) => {
    if (param !== undefined) {
      if (!(param in scope.params)) {
        throw new CaduceusError('UnknownReference', `\${{ params.${param} }} names no param with a value`, { field });
      }
      return encode(String(scope.params[param]));
    }
    const id = step as string;
    if (!(id in scope.steps)) {
      throw new CaduceusError('UnknownReference', `\${{ steps.${id}.output }} names no earlier step with that id`, {
        field,
      });
    }
    return encode(scope.steps[id] as string);
  });
}

/** Escapes a value for the inside of a JSON string. */
export function jsonEscape(v: string): string {
  return JSON.stringify(v).slice(1, -1);
}
