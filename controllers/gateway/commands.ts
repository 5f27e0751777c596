// Parses what a person typed in chat into one gateway command. The grammar is tiny on
// purpose: `run task NAME`, `run skill NAME key=value …`, `status`, `help`. Anything else
// is an error whose message shows the usage, so people learn the grammar from the bot.

export type Command =
  | { verb: 'run-task'; name: string }
  | { verb: 'run-skill'; name: string; params: Record<string, string> }
  | { verb: 'status' }
  | { verb: 'help' };

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string };

export const USAGE = 'commands: `run task NAME`, `run skill NAME key=value …`, `status`, `help`';

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

export function parseCommand(text: string): ParseResult {
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
    default:
      return c.verb;
  }
}
