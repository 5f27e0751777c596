// The one rule for schedules, used by validation and by the controllers that run them: a
// cron expression node-cron accepts (validation loads node-cron only when a revision has
// one) and an IANA time zone the platform knows. A schedule that passes `validate` is one
// the Task and Curator controllers can arm.

export const CRON_HINT =
  'write five fields (minute hour day month weekday) or six with seconds first, e.g. "0 3 * * *"';
export const TIME_ZONE_HINT = 'use an IANA name such as UTC or Europe/Paris';

/**
 * UTC is known without asking ICU: the first time-zone lookup loads its zone data (about
 * 50 ms), which `validate` and `up` of a repository whose schedules all say UTC skip.
 */
const ALWAYS_KNOWN = new Set(['UTC', 'Etc/UTC']);

export function timeZoneProblem(tz: string): string | undefined {
  if (ALWAYS_KNOWN.has(tz)) return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return undefined;
  } catch {
    return `"${tz}" is not a known time zone; ${TIME_ZONE_HINT}`;
  }
}

export function cronProblem(validate: (expr: string) => boolean, expr: string): string | undefined {
  return validate(expr) ? undefined : `"${expr}" is not a valid cron expression; ${CRON_HINT}`;
}

let validator: Promise<(expr: string) => boolean> | undefined;

/** node-cron's own check, imported on first use: most revisions have no schedule to pay for. */
export function cronValidator(): Promise<(expr: string) => boolean> {
  validator ??= import('node-cron').then((m) => (expr: string) => m.default.validate(expr));
  return validator;
}
