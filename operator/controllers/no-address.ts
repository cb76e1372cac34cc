// A pod bound to a node that still has no addresses some time after it was created gets one Event
// that says why, computed with the same candidate selection and filters as an ADD: which pools
// were skipped and why, which were exhausted, or that the pools are fine and the plugin has not
// recorded anything. Only pods Spiderpool would serve are explained: those that name pools, or whose
// namespace or cluster names default pools.
import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import {
  annotations,
  type SpiderEndpoint,
  type SpiderIPPool,
  type SpiderReservedIP,
} from '../../api/index.js';
import type { Family } from '../../ipam/address/ip.js';
import { namesSubnet } from '../../ipam/autopool/request.js';
import { podNamesPools } from '../../ipam/candidates/candidates.js';
import { filterInputsNeeded } from '../../ipam/filter/filters.js';
import { identityOf } from '../../ipam/identity/identity.js';
import { topControllerLookup } from '../../ipam/identity/owners.js';
import { podAliveness } from '../../ipam/identity/validity.js';
import { reservedSet } from '../../ipam/pool/space.js';
import { explainNoAddress } from '../../ipam/selection/explain.js';
import type { IpamSettings } from '../config/index.js';
import type { EventRecorder } from '../events/recorder.js';
import type { Lister } from '../framework/operator.js';
import type { Logger } from '../observability/log.js';
import type { Caches } from './facts.js';
import type { FreshReads } from './operator-store.js';

export interface NoAddressDeps {
  io: FreshReads;
  caches: () => Caches & { pools?: Lister; reservedIPs?: Lister };
  recorder: EventRecorder;
  settings: IpamSettings;
  /** Multus's namespace (bare multusName entries are in it). */
  multusNamespace: string;
  /** How long after creation a bound pod may be without addresses before it is explained. */
  afterMs: number;
  recheck: (pod: V1Pod, atMs: number) => void;
  log: Logger;
  now?: () => number;
}

function hasAddresses(endpoint: SpiderEndpoint | undefined, uid: string, isStatic: boolean): boolean {
  const current = endpoint?.status?.current;
  if (!current || (!isStatic && current.uid !== uid)) return false;
  return current.ips.some((e) => e.ipv4 !== undefined || e.ipv6 !== undefined);
}

function namesDefaultPools(namespace: V1Namespace | undefined): boolean {
  const a = namespace?.metadata?.annotations ?? {};
  return a[annotations.defaultIPv4Pool] !== undefined || a[annotations.defaultIPv6Pool] !== undefined;
}

/** Pods first judged later than this after creation are left alone (they predate this operator). */
const maxAgeMs = 60 * 60_000;
/** Namespaces are read at most this often (many pods of one namespace come at once at startup). */
const namespaceTtlMs = 60_000;

export class NoAddressExplainer {
  /** Pod UIDs already explained or found served. */
  private readonly done = new Set<string>();
  private readonly namespaces = new Map<string, { at: number; namespace: V1Namespace | undefined }>();

  constructor(private readonly deps: NoAddressDeps) {}

  forget(uid: string): void {
    this.done.delete(uid);
  }

  private async namespace(name: string, now: number): Promise<V1Namespace | undefined> {
    const cached = this.namespaces.get(name);
    if (cached && now - cached.at < namespaceTtlMs) return cached.namespace;
    const namespace = await this.deps.io.namespace(name);
    this.namespaces.set(name, { at: now, namespace });
    if (this.namespaces.size > 1024) this.namespaces.delete(this.namespaces.keys().next().value as string);
    return namespace;
  }

  async check(pod: V1Pod): Promise<void> {
    const md = pod.metadata ?? {};
    const uid = md.uid ?? '';
    const node = pod.spec?.nodeName;
    if (!uid || this.done.has(uid) || !node || pod.spec?.hostNetwork || !podAliveness(pod).valid) return;
    const caches = this.deps.caches();
    const identity = identityOf(pod, this.deps.settings);
    const endpoint = caches.endpoints?.get(identity.key) as SpiderEndpoint | undefined;
    if (hasAddresses(endpoint, uid, identity.static)) {
      this.done.add(uid);
      return;
    }
    const created = Date.parse(String(md.creationTimestamp ?? ''));
    const due = (Number.isNaN(created) ? 0 : created) + this.deps.afterMs;
    const now = (this.deps.now ?? Date.now)();
    if (now < due) {
      this.deps.recheck(pod, due);
      return;
    }
    if (now - due > maxAgeMs) {
      this.done.add(uid);
      return;
    }
    const pools = (caches.pools?.list() ?? []) as SpiderIPPool[];
    let namespace: V1Namespace | undefined;
    const subnetPod = namesSubnet(md.annotations);
    if (!podNamesPools(pod) && !subnetPod) {
      namespace = await this.namespace(md.namespace ?? '', now);
      if (!namesDefaultPools(namespace) && !pools.some((p) => p.spec.default)) {
        this.done.add(uid); // not a pod Spiderpool serves, as far as the operator can tell
        return;
      }
    }
    const nodeLabels = filterInputsNeeded(pools).nodeLabels
      ? ((await this.deps.io.node(node))?.metadata?.labels ?? {})
      : undefined;
    const reserved = (caches.reservedIPs?.list() ?? []) as SpiderReservedIP[];
    // A Deployment's pod names its ReplicaSet: the Deployment is the application of its auto-pool.
    const lookup = subnetPod ? topControllerLookup(md) : undefined;
    const intermediate =
      lookup?.kind === 'ReplicaSet'
        ? await this.deps.io.replicaSetMeta(md.namespace ?? '', lookup.name)
        : undefined;
    const explanation = explainNoAddress({
      pod,
      ...(namespace ? { namespace } : {}),
      pools,
      enableIPv4: this.deps.settings.enableIPv4,
      enableIPv6: this.deps.settings.enableIPv6,
      nodeName: node,
      ...(nodeLabels ? { nodeLabels } : {}),
      multus: {
        multusNamespace: this.deps.multusNamespace,
        ...(this.deps.settings.clusterNetwork
          ? { clusterDefaultNetwork: this.deps.settings.clusterNetwork }
          : {}),
      },
      reserved: (family: Family) => reservedSet(reserved, family),
      autoPools: this.deps.settings.enableSpiderSubnet && this.deps.settings.enableAutoPoolForApplication,
      ...(intermediate ? { intermediate } : {}),
    });
    this.done.add(uid);
    const seconds = Math.round(this.deps.afterMs / 1000);
    const message = `no address ${seconds}s after creation on ${node}: ${explanation.message}`;
    this.deps.log.info('pod without addresses explained', {
      controller: 'pods',
      object: `${md.namespace}/${md.name}`,
      blocked: explanation.blocked,
      explanation: explanation.message,
    });
    await this.deps.recorder.record(
      { apiVersion: 'v1', kind: 'Pod', metadata: md },
      'Warning',
      explanation.blocked ? 'NoUsablePool' : 'NoAddressYet',
      message,
    );
  }
}
