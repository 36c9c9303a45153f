import { isValidPermission } from '../../auth/permissions.js';
import { ValidationError, type FieldProblem } from '../../errors/errors.js';
import { sanitizeText, unstorableText, unstorableTextMessage } from '../../text.js';
import { parseAddress } from '../common/ip-ranges.js';
import { isUuid } from '../../global-id.js';
import { METADATA_LIMITS } from '../common/request-metadata.js';
import type { VerificationRequest } from './verification.js';
import type { UsageReport } from '../usage/pending-usage.js';

/**
 * Input checks shared by GraphQL and the REST routes: the same limits whichever door a resource
 * server uses. What the resource server itself chose (the token, its server id, the permissions it
 * requires, the client address) must be right or is refused; what it merely passes on from its own
 * client (endpoint, method, user agent) is cleaned of control characters and cut to
 * METADATA_LIMITS, since a strange user agent is no reason to refuse a verification.
 */

export interface VerifyInput extends VerificationRequest {
  token: string;
}

const TEXT_LIMITS = { serverId: 128, clientIp: METADATA_LIMITS.clientIp, token: 512 } as const;

export function validateVerifyInput(input: Record<string, unknown>): VerifyInput {
  const problems: FieldProblem[] = [];
  const text = (field: keyof typeof TEXT_LIMITS, required = false): string | null => {
    const value = input[field];
    if (value === undefined || value === null) {
      if (required) problems.push({ path: [field], message: `${field} is required` });
      return null;
    }
    if (typeof value !== 'string') {
      problems.push({ path: [field], message: `${field} must be a string` });
      return null;
    }
    if (value.length > TEXT_LIMITS[field]) {
      problems.push({ path: [field], message: `${field} must be at most ${TEXT_LIMITS[field]} characters` });
      return null;
    }
    if (unstorableText(value)) {
      problems.push({ path: [field], message: unstorableTextMessage(field) });
      return null;
    }
    return value;
  };
  const metadata = (field: 'endpoint' | 'method' | 'userAgent'): string | null => {
    const value = input[field];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') {
      problems.push({ path: [field], message: `${field} must be a string` });
      return null;
    }
    return sanitizeText(value, METADATA_LIMITS[field]);
  };
  const token = text('token', true);
  const required = input.requiredPermissions;
  let requiredPermissions: string[] | null = null;
  if (required !== undefined && required !== null) {
    if (!Array.isArray(required) || required.length > 100) {
      problems.push({ path: ['requiredPermissions'], message: 'requiredPermissions must be a list of at most 100 permissions' });
    } else {
      required.forEach((permission, index) => {
        if (typeof permission !== 'string' || !isValidPermission(permission)) {
          problems.push({ path: ['requiredPermissions', String(index)], message: `'${String(permission)}' is not a permission` });
        }
      });
      requiredPermissions = required as string[];
    }
  }
  const clientIp = text('clientIp');
  if (clientIp !== null && !parseAddress(clientIp)) {
    problems.push({ path: ['clientIp'], message: 'clientIp must be an IPv4 or IPv6 address' });
  }
  const request = {
    token: token ?? '',
    requiredPermissions,
    serverId: text('serverId'),
    clientIp,
    endpoint: metadata('endpoint'),
    method: metadata('method'),
    userAgent: metadata('userAgent'),
  };
  if (problems.length > 0) throw ValidationError.of(problems);
  return request;
}

export const MAX_USAGE_REPORTS = 1_000;

export function validateUsageReport(input: Record<string, unknown>, path: string[] = []): UsageReport {
  const problems: FieldProblem[] = [];
  const { verificationId, statusCode, responseTimeMs } = input;
  if (typeof verificationId !== 'string' || !isUuid(verificationId.toLowerCase())) {
    problems.push({ path: [...path, 'verificationId'], message: 'verificationId must be the id returned by a verification' });
  }
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    problems.push({ path: [...path, 'statusCode'], message: 'statusCode must be an HTTP status (100-599)' });
  }
  if (
    responseTimeMs !== undefined &&
    responseTimeMs !== null &&
    (typeof responseTimeMs !== 'number' || !Number.isFinite(responseTimeMs) || responseTimeMs < 0 || responseTimeMs > 86_400_000)
  ) {
    problems.push({ path: [...path, 'responseTimeMs'], message: 'responseTimeMs must be a number of milliseconds, 0 or more' });
  }
  if (problems.length > 0) throw ValidationError.of(problems);
  return {
    verificationId: (verificationId as string).toLowerCase(),
    statusCode: statusCode as number,
    responseTimeMs: (responseTimeMs as number | null | undefined) ?? null,
  };
}
