/**
 * Why a request could not be authenticated. The message is shown to the caller, so it says what
 * was wrong (missing, malformed, expired, bad signature) and never echoes the credential.
 */
export class AuthenticationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationError';
  }
}
