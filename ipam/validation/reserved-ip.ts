// SpiderReservedIP admission: its family is enabled and every entry is an address or range of it.
import type { SpiderReservedIP } from '../../api/index.js';
import { parseRangeEntry } from '../ranges/spiderpool-ranges.js';
import { checkFamily, type FamilySwitches } from './address-spec.js';
import { attempt, type FieldError, isFieldError } from './field-error.js';

export function validateReservedIP(
  reserved: SpiderReservedIP,
  switches: FamilySwitches,
): FieldError | undefined {
  const family = checkFamily(reserved.spec.ipVersion, switches);
  if (isFieldError(family)) return family;
  for (const [i, entry] of (reserved.spec.ips ?? []).entries()) {
    const at = `spec.ips[${i}]`;
    const parsed = attempt(at, entry, () => parseRangeEntry(entry, family, at));
    if (isFieldError(parsed)) return parsed;
  }
  return undefined;
}
