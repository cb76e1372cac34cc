// What a plugin process asks the node-local leader for, and what it gets back. Everything here
// crosses the coordination socket as JSON, so it is plain data. A request carries all the leader
// needs from the asking process (pod, interface, the network's IPAM keys, the node switches); the
// leader makes every API call itself, so a follower never loads the API client.
import type { CniResult } from '../protocol/result.js';

export interface PodArgs {
  namespace: string;
  name: string;
  /** K8S_POD_UID, when the runtime sent it. */
  uid?: string;
}

export interface Switches {
  enableIPv4: boolean;
  enableIPv6: boolean;
  enableStatefulSet: boolean;
  enableKubevirtStaticIP: boolean;
  enableIPConflictDetection: boolean;
  /** conf.yml `enableIPAMClaim` (absent: off). */
  enableIPAMClaim?: boolean;
  /** SpiderSubnet auto-pools: conf.yml enableSpiderSubnet and enableAutoPoolForApplication both on. */
  autoPools?: boolean;
}

export interface AddRequest {
  verb: 'ADD';
  pod: PodArgs;
  ifname: string;
  containerId: string;
  /** The network configuration's `name`. */
  network: string;
  defaultIPv4Pools: string[];
  defaultIPv6Pools: string[];
  cleanGateway: boolean;
  switches: Switches;
}

/** DEL: everything the pod holds; GC: one interface; conflict: some addresses of one interface. */
export type ReleaseReason = 'DEL' | 'GC' | 'conflict';

export interface ReleaseRequest {
  verb: 'RELEASE';
  reason: ReleaseReason;
  pod: PodArgs;
  /** Only this interface's records (GC, conflict). */
  nic?: string;
  /** Only these addresses (conflict). */
  ips?: string[];
  /** The identity an earlier ADD answered with (from the attachment record), for a pod that is gone. */
  identity?: { key: string; static: boolean };
  /** The interface of the call (CNI_IFNAME of a DEL, the attachment's of GC, the probed one). */
  ifname?: string;
  /** The pools the answered ADD of this attachment named (its record): where its records are. */
  pools?: string[];
  switches: Switches;
}

export type PluginRequest = AddRequest | ReleaseRequest;

export interface IdentitySummary {
  /** `<namespace>/<identity name>`. */
  key: string;
  kind: 'kubevirt-vm' | 'statefulset' | 'ipamclaim' | 'stateless';
  static: boolean;
}

export interface AddAnswer {
  identity: IdentitySummary;
  /** The UID of the pod served (CNI_ARGS may not name it). */
  podUid: string;
  /** The result of this interface, in the version-independent shape. */
  result: CniResult;
  /** How the addresses were found: newly allocated, taken from the endpoint, or a migration source's. */
  source: 'allocated' | 'endpoint' | 'migration-source';
  /** Whether to probe for conflicts before answering the runtime. */
  probe: boolean;
  /** Bare addresses a conflict may release (all of a stateless pod's; only new ones of a static identity). */
  releasable: string[];
  /** The pools of the addresses of every NIC this ADD planned, for a later release to read. */
  pools: string[];
}

/** Why a release gave nothing back. */
export type KeptBecause = 'pod-alive' | 'identity-valid' | 'pod-unknown';

export interface ReleaseAnswer {
  /** Bare addresses released from their pools. */
  released: string[];
  /** Why nothing was released, when that was decided. */
  kept?: { because: KeptBecause; reason: string };
}

export type PluginAnswer = AddAnswer | ReleaseAnswer;
