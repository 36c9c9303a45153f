import pino, { type Logger } from 'pino';
import type { Config } from './config.js';
import { scrubLoggedError } from './redaction.js';

export type { Logger };

/**
 * Structured JSON logs. Credentials never reach them: the redaction list covers every place a
 * header or cookie could be attached, and nothing in Keymint logs a request body. Logged errors go
 * through scrubLoggedError: the SQL in a database error keeps its shape but loses its values, and no
 * email, digest, secret or JWT survives in a message or a stack.
 */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: { service: 'keymint' },
    serializers: { err: (error: unknown) => scrubLoggedError(pino.stdSerializers.err(error as Error)) },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'headers.cookie',
        'authorization',
        'cookie',
        'secret',
        '*.secret',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
