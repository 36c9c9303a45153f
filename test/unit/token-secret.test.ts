import { describe, expect, it } from 'vitest';
import { generateSecret, hasValidChecksum, hashSecret } from '../../src/modules/token/token.secret.js';

describe('token secret', () => {
  it('has the km_ format: 43 base62 characters of randomness and a 6-character checksum', () => {
    const { secret, hash, displayPrefix } = generateSecret('km');
    expect(secret).toMatch(/^km_[0-9A-Za-z]{49}$/);
    expect(displayPrefix).toBe(secret.slice(0, 12));
    expect(hash).toBe(hashSecret(secret));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hasValidChecksum('km', secret)).toBe(true);
  });

  it('is different every time', () => {
    const secrets = new Set(Array.from({ length: 200 }, () => generateSecret('km').secret));
    expect(secrets.size).toBe(200);
  });

  it('rejects a string whose checksum does not match', () => {
    const { secret } = generateSecret('km');
    const last = secret.at(-1) === 'a' ? 'b' : 'a';
    expect(hasValidChecksum('km', secret.slice(0, -1) + last)).toBe(false);
    // One character of the random part changed: the checksum no longer matches.
    const flipped = secret.slice(0, 10) + (secret[10] === 'x' ? 'y' : 'x') + secret.slice(11);
    expect(hasValidChecksum('km', flipped)).toBe(false);
  });

  it('rejects wrong lengths, characters and prefixes', () => {
    const { secret } = generateSecret('km');
    expect(hasValidChecksum('km', secret + 'a')).toBe(false);
    expect(hasValidChecksum('km', secret.slice(0, -1))).toBe(false);
    expect(hasValidChecksum('km', secret.replace('km_', 'xx_'))).toBe(false);
    expect(hasValidChecksum('km', `km_${'-'.repeat(49)}`)).toBe(false);
    expect(hasValidChecksum('acme', secret)).toBe(false);
  });

  it('honours a configured prefix', () => {
    const { secret, displayPrefix } = generateSecret('acme');
    expect(secret.startsWith('acme_')).toBe(true);
    expect(displayPrefix).toHaveLength(12);
    expect(hasValidChecksum('acme', secret)).toBe(true);
  });
});
