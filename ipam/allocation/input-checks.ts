// Checks on the requests callers pass in: an owner is always `<namespace>/<name>`.
import { IpamError } from '../errors.js';

export function checkOwner(owner: unknown, field: string): void {
  if (typeof owner !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(owner)) {
    throw new IpamError('InvalidInput', `expected "<namespace>/<name>", got ${JSON.stringify(owner)}`, {
      field,
      value: owner,
    });
  }
}

export function checkNonEmpty(value: unknown, field: string): void {
  if (typeof value !== 'string' || value === '') {
    throw new IpamError('InvalidInput', `expected a non-empty string, got ${JSON.stringify(value)}`, {
      field,
      value,
    });
  }
}
