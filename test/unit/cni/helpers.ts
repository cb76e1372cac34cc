import type { AddRequest } from '../../../cni/allocation/requests.js';
import { CniError } from '../../../cni/protocol/errors.js';
import { thrownBy } from '../thrown.js';

/** Every switch of a node configuration at its default, conflict detection off. */
export const switches = {
  enableIPv4: true,
  enableIPv6: true,
  enableStatefulSet: true,
  enableKubevirtStaticIP: true,
  enableIPConflictDetection: false,
};

/** An ADD of pod ns/p1 (UID u1) on eth0 with no default pools configured. */
export const addRequest = (over: Partial<AddRequest> = {}): AddRequest => ({
  verb: 'ADD',
  pod: { namespace: 'ns', name: 'p1', uid: 'u1' },
  ifname: 'eth0',
  containerId: 'c1',
  network: 'net',
  defaultIPv4Pools: [],
  defaultIPv6Pools: [],
  cleanGateway: false,
  switches,
  ...over,
});

/** The CniError `fn` throws; fails the test when it throws nothing or something else. */
export const cniFailure = (fn: () => unknown): CniError => thrownBy(fn, CniError);
