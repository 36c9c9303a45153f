import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';

export type SessionSecretSource =
  | { kind: 'configured'; secret: string }
  | { kind: 'generated'; secret: string; file: string; created: boolean }
  | { kind: 'none' };

const SECRET_FILE = 'session-secret';

/**
 * The HS256 secret for session JWTs. Outside production, a missing AUTH_JWT_SECRET is replaced
 * by one generated once and kept in DATA_DIR, so `npm start` and `npm run session` agree on a
 * fresh machine. Production refuses to start without session verification (see config.ts).
 */
export async function resolveSessionSecret(config: Config): Promise<SessionSecretSource> {
  if (config.auth.jwtSecret) return { kind: 'configured', secret: config.auth.jwtSecret };
  if (config.auth.jwksUrl || config.nodeEnv === 'production') return { kind: 'none' };

  const file = path.resolve(config.database.dataDir, SECRET_FILE);
  try {
    const secret = (await readFile(file, 'utf8')).trim();
    if (secret.length >= 32) return { kind: 'generated', secret, file, created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32).toString('base64url');
  await mkdir(path.dirname(file), { recursive: true });
  try {
    // Exclusive: `npm run session` racing a first start must not end with two different secrets.
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return { kind: 'generated', secret, file, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { kind: 'generated', secret: (await readFile(file, 'utf8')).trim(), file, created: false };
  }
}
