import { Writable } from 'node:stream';
import type { Config } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/logger.js';

export interface CapturedLogs {
  logger: Logger;
  /** Everything written so far, as pino wrote it. */
  text(): string;
  /** The entries written so far, parsed. */
  entries(): Record<string, any>[];
}

/**
 * The service's own logger (src/logger.ts: same level handling, same redaction), writing into
 * memory instead of stdout.
 */
export function captureLogs(logLevel: Config['logLevel']): CapturedLogs {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({ logLevel }, stream);
  const text = () => chunks.join('');
  return {
    logger,
    text,
    entries: () =>
      text()
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, any>),
  };
}
