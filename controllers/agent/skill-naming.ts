// A name, a description and param names for a drafted skill: asked of the run's own model
// in one extra call (JSON in the answer), checked, and replaced by names derived from the
// request and from where each value was used whenever the model's answer does not fit.

import type { AgentMessage } from '../../reconciler/agent-contract.js';
import { envSuffix as envName } from '../../reconciler/env-names.js';
import type { Upstream } from './settings.js';
import type { SkillDraft, SkillNaming } from './skill-draft.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const STOP_WORDS = new Set(
  [
    'a an and are as at be by check could for from get give how i in into is it me my of on or please',
    'show tell the then to up us what when where which with would you your',
  ]
    .join(' ')
    .split(' '),
);

export interface ModelNaming {
  name?: unknown;
  description?: unknown;
  params?: unknown;
  instructions?: unknown;
}

/** Longest instructions taken from the model; a SKILL.md stays small enough to read whole. */
const MAX_INSTRUCTIONS = 8000;

/** The model's instructions when they are usable markdown text, else `derived`. */
export function settleInstructions(model: ModelNaming, derived: string): string {
  const text = typeof model.instructions === 'string' ? model.instructions.trim() : '';
  // A line of three dashes would end a SKILL.md's front matter early only at its top; keep it out anyway.
  return text && text.length <= MAX_INSTRUCTIONS && !/^---\s*$/m.test(text) ? text : derived;
}

/** Asks the model; resolves with whatever JSON object it answered, or {} when it did not. */
export async function askModelForNames(
  upstream: Upstream,
  draft: SkillDraft,
  prompt: string,
  signal: AbortSignal,
  /** Ask for SKILL.md instructions too: the run was mostly the model's judgement (run-judgement.ts). */
  withInstructions = false,
): Promise<ModelNaming> {
  // JSON writes the placeholders' NUL and SOH as \u0000 and \u0001; the model sees the bare ids.
  const bare = (step: unknown): string => JSON.stringify(step).replaceAll('\\u0000', '').replaceAll('\\u0001', '');
  const steps = draft.steps.map((s, i) => `${i + 1}. ${bare(s)}`);
  const values = draft.params.map(
    (p) => `- ${JSON.stringify(p.value)} (${p.where.join(', ')}), suggested name: ${p.suggested}`,
  );
  const messages: AgentMessage[] = [
    {
      role: 'system',
      content:
        'You name reusable skills of a platform team. Answer with one JSON object and nothing else: ' +
        '{"name": "kebab-case-name", "description": "one sentence", "params": {"<suggested name>": "better-name"}' +
        (withInstructions
          ? ', "instructions": "markdown for an agent: when to use the skill and how to do the work, ' +
            'deciding each step from what it finds (the steps are one run, not a script)"}.'
          : '}.'),
    },
    {
      role: 'user',
      content: [
        'An agent did the steps below for this request. Name them as a skill that can be run again.',
        '',
        `Request:\n${prompt.slice(0, 4000)}`,
        '',
        `Steps:\n${steps.join('\n').slice(0, 8000)}`,
        ...(values.length ? ['', `Values from the request that become parameters:\n${values.join('\n')}`] : []),
      ].join('\n'),
    },
  ];
  // The openai SDK (~150 modules) loads with the first naming call, not when `up` starts.
  const { callModel } = await import('./model-client.js');
  const reply = await callModel(upstream, { messages, tools: [], stream: false, signal });
  const text = (reply.message.content ?? '').trim().replace(/^```(?:json)?\s*|\s*```$/g, '');
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as ModelNaming) : {};
  } catch {
    return {};
  }
}

/**
 * The final naming: the model's where it fits, else derived. `taken` says whether a skill
 * name is in use; a taken name gets a numeric suffix.
 */
export function settleNaming(
  model: ModelNaming,
  draft: SkillDraft,
  prompt: string,
  taken: (name: string) => boolean,
): SkillNaming {
  const wanted = typeof model.name === 'string' ? slug(model.name) : '';
  let name = wanted || slug(promptWords(prompt).slice(0, 4).join(' ')) || 'agent-skill';
  if (taken(name)) {
    let n = 2;
    while (taken(`${name.slice(0, 60)}-${n}`)) n++;
    name = `${name.slice(0, 60)}-${n}`;
  }
  const described = typeof model.description === 'string' ? oneLine(model.description) : '';
  const description = described || `From an agent run: ${oneLine(prompt).slice(0, 160) || 'no request text'}`;
  const renamed =
    model.params && typeof model.params === 'object' && !Array.isArray(model.params)
      ? (model.params as Record<string, unknown>)
      : {};
  const paramNames = new Map<number, string>();
  const used = new Set<string>();
  for (const p of draft.params) {
    const proposed = renamed[p.suggested];
    let base = typeof proposed === 'string' && PARAM_NAME.test(proposed) ? proposed : p.suggested;
    // Two names may not reach shell steps as the same PARAM_ variable.
    if (used.has(envName(base))) {
      let n = 2;
      while (used.has(envName(`${base}-${n}`))) n++;
      base = `${base}-${n}`;
    }
    used.add(envName(base));
    paramNames.set(p.id, base);
  }
  return { name, description, paramNames };
}

function promptWords(prompt: string): string[] {
  return prompt
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 1 && !STOP_WORDS.has(w) && !/^\d+$/.test(w));
}

function slug(text: string): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/, '');
  return DNS_LABEL.test(s) ? s : '';
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 197)}…` : line;
}
