/**
 * The one application logger: pino, JSON lines to stdout and to the unified log table. Secrets are
 * redacted in one place (lib/redact.ts) before any destination sees the event.
 */
import pino, { type Logger } from 'pino';
import { redactDeep } from '../lib/redact.js';
import { UnifiedLogSink } from './unified-log-sink.js';
import { currentScope } from './request-context.js';

export type { Logger };

export interface AppLogger {
  logger: Logger;
  sink: UnifiedLogSink;
}

export function createLogger(level: string, stdout: NodeJS.WritableStream | null = process.stdout): AppLogger {
  const sink = new UnifiedLogSink();
  const streams: pino.StreamEntry[] = [{ level: 'info', stream: sink }];
  if (stdout && level !== 'silent') streams.push({ level: level as pino.Level, stream: stdout });
  const logger = pino(
    {
      // The table always receives INFO and above, whatever stdout's level is.
      level: level === 'trace' || level === 'debug' ? level : 'info',
      base: { service: 'whalefall' },
      timestamp: pino.stdTimeFunctions.epochTime,
      // Request id, client and user of the request being served, when there is one.
      mixin: () => ({ ...currentScope() }),
      formatters: { log: (obj) => redactDeep(obj) as Record<string, unknown> },
      serializers: { err: pino.stdSerializers.err },
    },
    pino.multistream(streams, { dedupe: false }),
  );
  return { logger, sink };
}
