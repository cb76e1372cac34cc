// Small helpers shared by the ipam unit tests.
import type { SpiderIPPool } from '../../../api/index.js';
import { IpamError } from '../../../ipam/errors.js';
import { thrownBy } from '../thrown.js';

/** The IpamError `fn` throws; fails the test when it throws nothing or something else. */
export const ipamErrorOf = (fn: () => unknown): IpamError => thrownBy(fn, IpamError);

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
