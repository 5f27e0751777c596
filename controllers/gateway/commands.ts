// Parses what a person typed in chat into one gateway command. The grammar is tiny on
// purpose: `run task NAME`, `run skill NAME key=value …`, `ask …`, `status`, `help`.
// Anything else is an error whose message shows the usage, so people learn the grammar
// from the bot, or, where the platform takes free text, a question for the agent.

export type Command =
  | { verb: 'run-task'; name: string }
  | { verb: 'run-skill'; name: string; params: Record<string, string> }
  | { verb: 'ask'; text: string }
  | { verb: 'status' }
  | { verb: 'help' };

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string };

export const USAGE = 'commands: `run task NAME`, `run skill NAME key=value …`, `ask QUESTION`, `status`, `help`';

const MAX_TEXT = 1000;
const MAX_PARAMS = 32;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const KEY = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/** Splits on whitespace; "double" and 'single' quotes group words. Unbalanced quotes fail. */
export function tokenize(text: string): string[] | undefined {
  const out: string[] = [];
  let cur = '';
  let inToken = false;
  let quote: '"' | "'" | undefined;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      inToken = true;
    } else if (/\s/.test(ch)) {
      if (inToken) out.push(cur);
      cur = '';
      inToken = false;
    } else {
      cur += ch;
      inToken = true;
    }
  }
  if (quote) return undefined;
  if (inToken) out.push(cur);
  return out;
}

/** Telegram sends `/run@MyBot`, Slack and Discord may pass the root command name; both are noise here. */
function normaliseVerb(word: string): string {
  return word
    .replace(/^\//, '')
    .replace(/@[A-Za-z0-9_]+$/, '')
    .toLowerCase();
}

/** Longest question for the agent; a conversation's worth of text. */
const MAX_ASK = 8000;
/** `ask`, after an optional `caduceus` and a platform's `/` or `@Bot` decoration. */
const ASK = /^(?:\/?caduceus(?:@[A-Za-z0-9_]+)?\s+)?\/?ask(?:@[A-Za-z0-9_]+)?(?:\s+([\s\S]*))?$/i;

/**
 * `freeText`: the platform sends what is not a command to the agent (a question in plain
 * words) instead of answering with the usage.
 */
export function parseCommand(text: string, opts: { freeText?: boolean } = {}): ParseResult {
  // Questions are taken verbatim: apostrophes and quotes in them are words, not syntax.
  const ask = ASK.exec(text.trim());
  if (ask) return question(ask[1] ?? '');
  const parsed = parseVerb(text);
  if (!parsed.ok && opts.freeText && text.trim() !== '' && !/^\/?(run|status|help)\b/i.test(text.trim()))
    return question(text.replace(/^\/?caduceus(@[A-Za-z0-9_]+)?\s+/i, ''));
  return parsed;
}

function question(text: string): ParseResult {
  const q = text.trim();
  if (q === '') return { ok: false, error: 'write your question after `ask`' };
  if (q.length > MAX_ASK) return { ok: false, error: `question longer than ${MAX_ASK} characters` };
  return { ok: true, command: { verb: 'ask', text: q } };
}

function parseVerb(text: string): ParseResult {
  if (text.length > MAX_TEXT) return { ok: false, error: `command longer than ${MAX_TEXT} characters` };
  const words = tokenize(text.trim());
  if (!words) return { ok: false, error: `unbalanced quotes; ${USAGE}` };
  if (words.length > 0 && normaliseVerb(words[0] as string) === 'caduceus') words.shift();
  if (words.length === 0) return { ok: false, error: `empty command; ${USAGE}` };
  const verb = normaliseVerb(words[0] as string);
  const rest = words.slice(1);
  if (verb === 'help' && rest.length === 0) return { ok: true, command: { verb: 'help' } };
  if (verb === 'status' && rest.length === 0) return { ok: true, command: { verb: 'status' } };
  if (verb !== 'run') return { ok: false, error: `unknown command "${verb.slice(0, 40)}"; ${USAGE}` };

  const [what, name, ...args] = rest;
  if ((what !== 'task' && what !== 'skill') || name === undefined)
    return { ok: false, error: `write \`run task NAME\` or \`run skill NAME key=value …\`` };
  if (!NAME.test(name)) return { ok: false, error: `"${name.slice(0, 40)}" is not a valid ${what} name` };
  if (what === 'task') {
    if (args.length > 0) return { ok: false, error: '`run task NAME` takes no parameters' };
    return { ok: true, command: { verb: 'run-task', name } };
  }
  if (args.length > MAX_PARAMS) return { ok: false, error: `at most ${MAX_PARAMS} parameters` };
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const a of args) {
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(0, eq) : '';
    if (!KEY.test(key)) return { ok: false, error: `"${a.slice(0, 40)}" is not key=value` };
    if (key in params) return { ok: false, error: `parameter ${key} given twice` };
    params[key] = a.slice(eq + 1);
  }
  return { ok: true, command: { verb: 'run-skill', name, params: { ...params } } };
}

/** The command as one line for the audit log and replies. */
export function describeCommand(c: Command): string {
  switch (c.verb) {
    case 'run-task':
      return `run task ${c.name}`;
    case 'run-skill':
      return [
        'run skill',
        c.name,
        ...Object.entries(c.params).map(([k, v]) => `${k}=${/\s/.test(v) ? JSON.stringify(v) : v}`),
      ].join(' ');
    case 'ask': {
      const line = c.text.replace(/\s+/g, ' ');
      return `ask ${line.length > 200 ? `${line.slice(0, 199)}…` : line}`;
    }
    default:
      return c.verb;
  }
}
