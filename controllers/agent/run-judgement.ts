// How much of a run was the model's judgement rather than fixed commands: a call is judged
// when its arguments carry a value the model read in the result of an earlier turn (a
// ticket id, a file name, a host) that neither the request nor the model itself had
// written before. Replaying such a call repeats yesterday's value, so a run made mostly of
// them is proposed as SKILL.md instructions rather than as YAML steps (follow-ups.ts).

import type { AgentToolCall } from '../../reconciler/agent-contract.js';
import { stepCalls } from './skill-draft.js';

export interface RunJudgement {
  /** Calls that become steps (the successful ones, `remember` and `delegate` aside). */
  steps: number;
  /** Of those, calls whose arguments used a value read from an earlier result. */
  judged: number;
  /** The values read and then used, in the order first used, then read (at most 10). */
  values: string[];
}

/** Words distinctive enough to tell where a value came from: `INC-4821`, `checkout-7f9c.log`, `10.0.0.3`. */
function distinctive(text: string): Set<string> {
  const out = new Set<string>();
  for (const raw of text.split(/[\s"'`,;()[\]{}<>|=]+/)) {
    const w = raw.replace(/^[.:/-]+|[.:/-]+$/g, '');
    if (w.length >= 4 && /[0-9/._:@-]/.test(w.slice(1)) && !/^-?\d+(\.\d+)?$/.test(w)) out.add(w);
  }
  return out;
}

/** The string values of a call's arguments, one per line (keys and JSON quoting aside). */
function argumentText(call: AgentToolCall): string {
  try {
    const out: string[] = [];
    JSON.parse(call.arguments || '{}', (_k, v: unknown) => {
      if (typeof v === 'string' || typeof v === 'number') out.push(String(v));
      return v;
    });
    return out.join('\n');
  } catch {
    return call.arguments;
  }
}

export function judgeRun(calls: readonly AgentToolCall[], prompt: string): RunJudgement {
  const asked = distinctive(prompt);
  /** Values the model wrote before any result showed them: its own constants, echoed back by tools. */
  const own = new Set<string>();
  /** Values first seen in a result, with the turn of that result. */
  const read = new Map<string, number>();
  const values: string[] = [];
  let judged = 0;
  const steps = new Set(stepCalls(calls));
  const byTurn = [...calls].sort((a, b) => a.turn - b.turn || a.seq - b.seq);
  for (const call of byTurn) {
    const text = argumentText(call);
    const used = [...read].filter(([v, turn]) => turn < call.turn && text.includes(v)).map(([v]) => v);
    if (steps.has(call) && used.length > 0) {
      judged++;
      for (const v of used) if (!values.includes(v) && values.length < 10) values.push(v);
    }
    for (const v of distinctive(text)) if (!read.has(v)) own.add(v);
    if (call.status !== 'succeeded') continue;
    const known = (v: string): boolean =>
      read.has(v) || [...asked, ...own].some((a) => a.includes(v)) || [...asked].some((a) => v.includes(a));
    for (const v of distinctive(call.result)) if (!known(v)) read.set(v, call.turn);
  }
  return { steps: steps.size, judged, values };
}

/** More than half of the steps took values from what the model read. */
export function mostlyJudgement(j: RunJudgement): boolean {
  return j.steps > 0 && j.judged * 2 > j.steps;
}
