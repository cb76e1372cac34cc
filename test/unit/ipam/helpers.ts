// Small helpers shared by the ipam unit tests.
import type { SpiderIPPool } from '../../../api/index.js';
import { IpamError } from '../../../ipam/errors.js';

/** The IpamError `fn` throws; fails the test when it throws nothing or something else. */
export function ipamErrorOf(fn: () => unknown): IpamError {
  try {
    fn();
  } catch (error) {
    if (error instanceof IpamError) return error;
    throw error;
  }
  throw new Error('expected an IpamError, nothing was thrown');
}

export function pool(
  name: string,
  spec: SpiderIPPool['spec'],
  status?: SpiderIPPool['status'],
): SpiderIPPool {
  const p: SpiderIPPool = { metadata: { name }, spec };
  if (status) p.status = status;
  return p;
}

/** The controller ownerReference of launcher pods of the VMI vm1. */
export const vmiRef = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  name: 'vm1',
  uid: 'vmi-uid',
  controller: true,
};
