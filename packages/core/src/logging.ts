/** pino loggers: JSON lines, or readable lines on a terminal. */
import pino, { type Logger } from 'pino';

export type { Logger };

/** Morpheus's level names (CRITICAL…DEBUG) and pino's, case-insensitive. */
const LEVELS: Record<string, pino.Level> = {
  critical: 'fatal',
  fatal: 'fatal',
  error: 'error',
  warning: 'warn',
  warn: 'warn',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
};

export const LOG_LEVEL_NAMES = ['CRITICAL', 'ERROR', 'WARNING', 'INFO', 'DEBUG'];

export function pinoLevel(name: string): pino.Level | undefined {
  return LEVELS[name.toLowerCase()];
}

export interface LoggerOptions {
  level?: string;
  /** Human-readable lines (pino-pretty) instead of JSON. Default: stderr is a terminal. */
  pretty?: boolean;
}

/** A logger writing to stderr, so stdout stays free for summaries. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = pinoLevel(options.level ?? 'info') ?? 'info';
  const pretty = options.pretty ?? Boolean(process.stderr.isTTY);
  if (pretty) {
    // Synchronous pretty printing keeps lines in order with the progress bar.
    const pinoPretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream;
    return pino(
      { level },
      pinoPretty({
        destination: 2,
        sync: true,
        ignore: 'pid,hostname',
        translateTime: 'SYS:HH:MM:ss',
      }),
    );
  }
  return pino({ level }, pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
