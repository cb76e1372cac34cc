import { CniError } from '../../../cni/protocol/errors.js';

/** The CniError `fn` throws; fails the test when it throws nothing or something else. */
export function cniFailure(fn: () => unknown): CniError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return err;
    throw err;
  }
  throw new Error('expected a CniError');
}
