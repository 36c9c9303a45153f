import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { isValidPermission } from './permissions.js';
import { resolveSessionSecret } from './session-secret.js';
import { signSession } from './session-signer.js';

/**
 * `npm run session -- --email alice@example.com [--admin] [--permission tokens.*]...`
 * prints a session JWT signed with this instance's secret, for GraphiQL or curl.
 */
const usage =
  'usage: npm run session -- --email <email> [--name <name>] [--sub <id>] [--admin] [--permission <p>]... [--ttl-hours <n>]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      sub: { type: 'string' },
      admin: { type: 'boolean', default: false },
      permission: { type: 'string', multiple: true, default: [] },
      'ttl-hours': { type: 'string', default: '12' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.email) {
    console.error(usage);
    process.exit(values.help ? 0 : 2);
  }
  const invalid = values.permission.filter((p) => !isValidPermission(p));
  if (invalid.length > 0) {
    console.error(`invalid permission(s): ${invalid.join(', ')} (expected "*" or "category.action")`);
    process.exit(2);
  }
  const ttlHours = Number(values['ttl-hours']);
  if (!Number.isFinite(ttlHours) || ttlHours <= 0) {
    console.error('--ttl-hours must be a positive number');
    process.exit(2);
  }

  const config = loadConfig();
  if (ttlHours * 3600 > config.sessionMaxAgeSeconds) {
    console.error(`--ttl-hours must be at most ${config.sessionMaxAgeSeconds / 3600}: longer sessions are refused (SESSION_MAX_AGE_SECONDS)`);
    process.exit(2);
  }
  const source = await resolveSessionSecret(config);
  if (source.kind === 'none') {
    console.error('Sessions are verified with AUTH_JWKS_URL here: get a session from your identity provider.');
    process.exit(1);
  }
  // A stable subject per email, so the same person gets the same user row every time.
  const subject = values.sub ?? `local|${createHash('sha256').update(values.email.toLowerCase()).digest('hex').slice(0, 24)}`;
  const jwt = await signSession(
    source.secret,
    {
      subject,
      email: values.email,
      name: values.name,
      permissions: values.permission,
      admin: values.admin,
      ttlSeconds: Math.round(ttlHours * 3600),
    },
    config.auth,
    { issuer: config.auth.issuer, audience: config.auth.audience },
  );
  process.stdout.write(`${jwt}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
