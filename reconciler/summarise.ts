// The one place that turns how a reconcile ended into status and events (Flux's summarise
// helper): the Ready, Reconciling and Stalled conditions, whether the spec joins the
// applied snapshot, and an event for every transition a person wants to see. Pure: the
// loop hands it the controller's result and the previous status and writes what it returns.

import type { NewEvent } from './state/core-store.js';
import type {
  Condition,
  ConditionType,
  ConditionUpdate,
  EventType,
  Reason,
  Resource,
  ResourceKey,
  ResourceStatus,
  TerminalOutcome,
} from './types.js';
import { splitKey } from './types.js';
import { redactUrl } from './secrets.js';

/** Consecutive failures after which a resource is marked Stalled (retries continue). */
export const STALL_AFTER = 5;

/** How one reconcile ended. */
export type Outcome =
  /** The controller returned: the spec is applied (Ready as the controller set it). */
  | { kind: 'done' }
  /** The controller returned a terminal result: nothing helps but a change of the spec. */
  | { kind: 'terminal'; terminal: TerminalOutcome }
  /** The controller threw; the queue retries after `retryInMs`. */
  | { kind: 'failed'; message: string; failures: number; retryInMs: number };

export interface SummaryInput {
  key: ResourceKey;
  revision: string;
  /** The spec that was reconciled; undefined when the resource was pruned. */
  desired: Resource | undefined;
  /** False for a kind no controller drives here: its spec is only stored. */
  driven: boolean;
  outcome: Outcome;
  /** What the controller set and emitted during the reconcile. */
  set: { conditions: ConditionUpdate[]; events: Array<{ type: EventType; reason: Reason; message: string }> };
  /** The status before this reconcile. */
  previous: ResourceStatus | undefined;
  /** The hash of the resource in the applied snapshot before this reconcile. */
  appliedHash: string | undefined;
}

/** What the loop writes for one reconcile, in one transaction. */
export interface Summary {
  conditions: ConditionUpdate[];
  events: NewEvent[];
  /** The spec becomes part of the applied snapshot (its hash is the status's appliedHash). */
  applied?: Resource;
  /** The resource is gone: its applied row and status are removed. */
  pruned?: true;
}

export function summarise(input: SummaryInput): Summary {
  const { key, revision, desired, outcome } = input;
  const event = (type: EventType, reason: Reason, message: string): NewEvent => ({
    type,
    reason,
    message,
    object: key,
    revision,
  });
  const events = input.set.events.map((e) => event(e.type, e.reason, e.message));
  if (!desired && outcome.kind !== 'failed') {
    const { kind, name } = splitKey(key);
    events.push(event('Normal', 'Pruned', `${kind} ${name} removed from git and pruned`));
    return { conditions: [], events, pruned: true };
  }

  const conditions = conditionsOf(input);
  const now = (type: ConditionType): ConditionUpdate | undefined => conditions.find((c) => c.type === type);
  const before = (type: ConditionType): Condition | undefined =>
    input.previous?.conditions.find((c) => c.type === type);

  const applied = outcome.kind === 'failed' ? undefined : desired;
  if (applied && input.appliedHash !== applied.hash) {
    const { kind, name } = splitKey(key);
    const created = input.appliedHash === undefined;
    events.push(event('Normal', created ? 'Created' : 'Updated', `${kind} ${name} ${created ? 'created' : 'updated'}`));
  }

  if (outcome.kind === 'failed') {
    const was = before('Ready');
    // Stored messages are redacted: compare like with like, or a secret in a URL repeats the event.
    if (was?.reason !== 'ReconciliationFailed' || was.message !== redactUrl(outcome.message)) {
      events.push(event('Warning', 'ReconcileFailed', outcome.message));
    }
  }

  const stalled = now('Stalled');
  const wasStalled = before('Stalled');
  if (stalled?.status === 'True') {
    const same =
      wasStalled?.status === 'True' &&
      wasStalled.reason === stalled.reason &&
      // A new terminal message (another invalid value after a spec change) is news; a
      // growing failure count is not.
      (outcome.kind !== 'terminal' || wasStalled.message === redactUrl(stalled.message));
    if (!same) events.push(event('Warning', stalled.reason, stalled.message));
  }

  if (outcome.kind === 'done') {
    const ready = now('Ready');
    const was = before('Ready');
    if (ready?.status === 'False' && (was?.status !== 'False' || was.reason !== ready.reason)) {
      events.push(event('Warning', ready.reason, ready.message));
    } else if (ready?.status === 'True' && was?.status === 'False') {
      events.push(event('Normal', ready.reason, ready.message));
    }
  }

  return applied ? { conditions, events, applied } : { conditions, events };
}

/** Ready, Reconciling and Stalled for the outcome; a controller sets Ready only when done. */
function conditionsOf(input: SummaryInput): ConditionUpdate[] {
  const { outcome, revision } = input;
  const c = (type: ConditionType, status: 'True' | 'False', reason: Reason, message: string): ConditionUpdate => ({
    type,
    status,
    reason,
    message,
  });
  switch (outcome.kind) {
    case 'done': {
      const ready =
        input.set.conditions.find((x) => x.type === 'Ready') ??
        (input.driven
          ? c('Ready', 'True', 'ReconciliationSucceeded', `applied revision ${short(revision)}`)
          : c('Ready', 'True', 'Stored', `stored at revision ${short(revision)}`));
      return [
        ready,
        c('Reconciling', 'False', 'Idle', 'reconciled'),
        c('Stalled', 'False', 'Progressing', 'not stalled'),
      ];
    }
    case 'terminal': {
      const { reason, message } = outcome.terminal;
      return [
        c('Ready', 'False', reason, message),
        c('Reconciling', 'False', reason, 'not retried until the spec changes'),
        c('Stalled', 'True', reason, message),
      ];
    }
    case 'failed': {
      const { message, failures, retryInMs } = outcome;
      const stalled = failures >= STALL_AFTER;
      return [
        c('Ready', 'False', 'ReconciliationFailed', message),
        c('Reconciling', 'True', 'RetryingWithBackoff', `attempt ${failures} failed; retrying in ${retryInMs} ms`),
        stalled
          ? c('Stalled', 'True', 'RepeatedFailures', `${failures} consecutive failures: ${message}`)
          : c('Stalled', 'False', 'Progressing', 'retrying'),
      ];
    }
  }
}

export function short(revision: string): string {
  return /^[0-9a-f]{40}$/.test(revision) ? revision.slice(0, 8) : revision;
}
