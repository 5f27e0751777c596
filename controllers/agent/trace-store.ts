// Agent traces in the state store: per run the conversation, every model turn (latency,
// tokens, finish reason), every tool call (arguments, result, status, exit code,
// duration) and the final answer, all redacted before they are written. The run itself
// (trigger, status, parent) is a row of the shared run history (reconciler/state/runs.ts).

import type { StateStore } from '../../reconciler/state/store.js';
import type {
  AgentMessage,
  AgentResult,
  AgentStopReason,
  AgentToolCall,
  AgentTurn,
  AgentUsage,
} from '../../reconciler/agent-contract.js';

export const AGENT_MIGRATIONS = [
  `CREATE TABLE agent_traces (
     run_id TEXT PRIMARY KEY,
     model TEXT NOT NULL,
     stop_reason TEXT NOT NULL,
     answer TEXT NOT NULL,
     prompt_tokens INTEGER NOT NULL,
     completion_tokens INTEGER NOT NULL,
     total_tokens INTEGER NOT NULL,
     messages TEXT NOT NULL,
     notes TEXT NOT NULL
   );
   CREATE TABLE agent_turns (
     run_id TEXT NOT NULL,
     turn INTEGER NOT NULL,
     latency_ms INTEGER NOT NULL,
     prompt_tokens INTEGER,
     completion_tokens INTEGER,
     total_tokens INTEGER,
     finish_reason TEXT NOT NULL,
     tool_calls INTEGER NOT NULL,
     PRIMARY KEY (run_id, turn)
   );
   CREATE TABLE agent_tool_calls (
     run_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     turn INTEGER NOT NULL,
     call_id TEXT NOT NULL,
     tool TEXT NOT NULL,
     arguments TEXT NOT NULL,
     status TEXT NOT NULL,
     exit_code INTEGER,
     duration_ms INTEGER NOT NULL,
     result TEXT NOT NULL,
     error TEXT,
     child_run_ids TEXT,
     PRIMARY KEY (run_id, seq)
   );
   CREATE INDEX agent_tool_calls_by_tool ON agent_tool_calls (tool, status);`,
  `CREATE TABLE agent_proposals (
     run_id TEXT NOT NULL,
     kind TEXT NOT NULL,
     outcome TEXT NOT NULL,
     detail TEXT NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (run_id, kind)
   );`,
];

/**
 * What became of a run after it finished: its `remember` notes proposed as memory, the run
 * itself proposed as a skill. `outcome` is the proposal's (proposed, unchanged), or
 * `skipped` / `failed` with the reason in `detail`.
 */
export interface RunProposal {
  kind: 'memory' | 'skill';
  outcome: 'proposed' | 'unchanged' | 'skipped' | 'failed';
  /** Branch and pull request, or why nothing was proposed. */
  detail: string;
  at: number;
}

/** A stored trace; with the run's history row it is the whole story of one run. */
export interface AgentTrace {
  runId: string;
  model: string;
  stopReason: AgentStopReason;
  answer: string;
  usage: AgentUsage;
  messages: AgentMessage[];
  notes: string[];
  turns: AgentTurn[];
  toolCalls: AgentToolCall[];
  proposals: RunProposal[];
}

interface ToolCallRow {
  seq: number;
  turn: number;
  call_id: string;
  tool: string;
  arguments: string;
  status: AgentToolCall['status'];
  exit_code: number | null;
  duration_ms: number;
  result: string;
  error: string | null;
  child_run_ids: string | null;
}

export class TraceStore {
  constructor(private readonly store: StateStore) {
    store.migrate('agent', AGENT_MIGRATIONS);
  }

  /** Writes a finished run's trace in one transaction (the result is redacted already). */
  save(r: AgentResult): void {
    const db = this.store.db;
    const trace = db.prepare(
      `INSERT INTO agent_traces (run_id, model, stop_reason, answer, prompt_tokens, completion_tokens,
         total_tokens, messages, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const turn = db.prepare(
      `INSERT INTO agent_turns (run_id, turn, latency_ms, prompt_tokens, completion_tokens, total_tokens,
         finish_reason, tool_calls) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const call = db.prepare(
      `INSERT INTO agent_tool_calls (run_id, seq, turn, call_id, tool, arguments, status, exit_code,
         duration_ms, result, error, child_run_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // A run's trace replaces any earlier one whole (portable SQL: no INSERT OR REPLACE).
    const clear = ['agent_tool_calls', 'agent_turns', 'agent_traces'].map((t) =>
      db.prepare(`DELETE FROM ${t} WHERE run_id = ?`),
    );
    this.store.tx(() => {
      for (const c of clear) c.run(r.runId);
      trace.run(
        r.runId,
        r.model,
        r.stopReason,
        r.answer,
        r.usage.promptTokens,
        r.usage.completionTokens,
        r.usage.totalTokens,
        JSON.stringify(r.messages),
        JSON.stringify(r.notes),
      );
      for (const t of r.turns)
        turn.run(
          r.runId,
          t.turn,
          Math.round(t.latencyMs),
          t.usage?.promptTokens ?? null,
          t.usage?.completionTokens ?? null,
          t.usage?.totalTokens ?? null,
          t.finishReason,
          t.toolCalls,
        );
      for (const c of r.toolCalls)
        call.run(
          r.runId,
          c.seq,
          c.turn,
          c.id,
          c.tool,
          c.arguments,
          c.status,
          c.exitCode ?? null,
          Math.round(c.durationMs),
          c.result,
          c.error ?? null,
          c.childRunIds ? JSON.stringify(c.childRunIds) : null,
        );
    });
  }

  /** Records what became of the run's notes or of the run as a skill (one row per kind, the last word kept). */
  saveProposal(runId: string, p: RunProposal): void {
    this.store.db
      .prepare('INSERT OR REPLACE INTO agent_proposals (run_id, kind, outcome, detail, at) VALUES (?, ?, ?, ?, ?)')
      .run(runId, p.kind, p.outcome, p.detail, p.at);
  }

  proposals(runId: string): RunProposal[] {
    return this.store.db
      .prepare('SELECT kind, outcome, detail, at FROM agent_proposals WHERE run_id = ? ORDER BY kind')
      .all(runId) as RunProposal[];
  }

  get(runId: string): AgentTrace | undefined {
    const db = this.store.db;
    const t = db.prepare('SELECT * FROM agent_traces WHERE run_id = ?').get(runId) as
      | {
          model: string;
          stop_reason: AgentStopReason;
          answer: string;
          prompt_tokens: number;
          completion_tokens: number;
          total_tokens: number;
          messages: string;
          notes: string;
        }
      | undefined;
    if (!t) return undefined;
    const turns = (
      db.prepare('SELECT * FROM agent_turns WHERE run_id = ? ORDER BY turn').all(runId) as Array<{
        turn: number;
        latency_ms: number;
        prompt_tokens: number | null;
        completion_tokens: number | null;
        total_tokens: number | null;
        finish_reason: string;
        tool_calls: number;
      }>
    ).map(
      (row): AgentTurn => ({
        turn: row.turn,
        latencyMs: row.latency_ms,
        finishReason: row.finish_reason,
        toolCalls: row.tool_calls,
        ...(row.total_tokens !== null
          ? {
              usage: {
                promptTokens: row.prompt_tokens ?? 0,
                completionTokens: row.completion_tokens ?? 0,
                totalTokens: row.total_tokens,
              },
            }
          : {}),
      }),
    );
    const toolCalls = (
      db.prepare('SELECT * FROM agent_tool_calls WHERE run_id = ? ORDER BY seq').all(runId) as ToolCallRow[]
    ).map(
      (c): AgentToolCall => ({
        seq: c.seq,
        turn: c.turn,
        id: c.call_id,
        tool: c.tool,
        arguments: c.arguments,
        status: c.status,
        durationMs: c.duration_ms,
        result: c.result,
        ...(c.exit_code !== null ? { exitCode: c.exit_code } : {}),
        ...(c.error !== null ? { error: c.error } : {}),
        ...(c.child_run_ids !== null ? { childRunIds: JSON.parse(c.child_run_ids) as string[] } : {}),
      }),
    );
    return {
      runId,
      model: t.model,
      stopReason: t.stop_reason,
      answer: t.answer,
      usage: { promptTokens: t.prompt_tokens, completionTokens: t.completion_tokens, totalTokens: t.total_tokens },
      messages: JSON.parse(t.messages) as AgentMessage[],
      notes: JSON.parse(t.notes) as string[],
      turns,
      toolCalls,
      proposals: this.proposals(runId),
    };
  }
}
