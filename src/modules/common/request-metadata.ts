/**
 * The longest request metadata Keymint stores, in characters. Verification input over a limit is
 * cut (what a resource server passes on from its client) or refused (the client address it
 * chose); audit and usage events cut to the same lengths, so one value reads alike wherever it is
 * recorded.
 */
export const METADATA_LIMITS = { endpoint: 512, method: 16, userAgent: 512, clientIp: 64 } as const;
