// Structured logger for `caduceus up`: readable lines by default, JSON lines with
// --log-format json. Every line passes through secret redaction.

import type { Logger } from './types.js';
import { redact } from './secrets.js';

export type LogFormat = 'text' | 'json';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface LoggerOptions {
  format?: LogFormat;
  level?: LogLevel;
  write?: (line: string) => void;
}

export function createLogger(opts: LoggerOptions = {}, base: Record<string, unknown> = {}): Logger {
  return new LineLogger(
    {
      format: opts.format ?? 'text',
      min: RANK[opts.level ?? 'info'],
      write: opts.write ?? ((line: string) => process.stderr.write(`${line}\n`)),
    },
    base,
  );
}

interface Output {
  format: LogFormat;
  min: number;
  write(line: string): void;
}

/**
 * One object per logger, its methods shared: the loop makes a child for every reconcile
 * (10,000 on a first apply), most of which never log.
 */
class LineLogger implements Logger {
  constructor(
    private readonly out: Output,
    private readonly base: Record<string, unknown>,
  ) {}

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.emit('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.emit('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.emit('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.emit('error', msg, fields);
  }
  child(fields: Record<string, unknown>): Logger {
    return new LineLogger(this.out, { ...this.base, ...fields });
  }

  private emit(level: Exclude<LogLevel, 'silent'>, msg: string, fields: Record<string, unknown> = {}): void {
    const { format, min, write } = this.out;
    if (RANK[level] < min) return;
    const all = { ...this.base, ...fields };
    if (format === 'json') {
      write(redact(JSON.stringify({ time: new Date().toISOString(), level, msg, ...all })));
      return;
    }
    const kv = Object.entries(all)
      .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
      .join(' ');
    write(
      redact(`${new Date().toISOString().slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${msg}${kv ? `  ${kv}` : ''}`),
    );
  }
}

/** A logger that drops everything, for tests and one-shot commands. */
export const silentLogger: Logger = createLogger({ level: 'silent' });
