// What becomes of an identity's SpiderEndpoint after an ADD or a release. Pure: the endpoint as read
// (or none) in, the change to make out; the caller writes it guarded by the resourceVersion and, on
// a conflict, reads it again and asks again.
import type { V1OwnerReference } from '@kubernetes/client-node';
import {
  apiVersion,
  finalizer,
  type IPAllocationDetail,
  kinds,
  type SpiderEndpoint,
} from '../../api/index.js';
import type { Identity } from '../../ipam/identity/identity.js';
import { endpointEntry, type NicNetwork } from '../../ipam/network/nic-network.js';
import { CniError, ErrorCode } from '../protocol/errors.js';

export type EndpointChange =
  | { kind: 'none' }
  /** Create (no resourceVersion) or replace. */
  | { kind: 'write'; endpoint: SpiderEndpoint }
  /** Write it without the finalizer when it still has one, then delete it (UID precondition). */
  | { kind: 'delete'; endpoint: SpiderEndpoint };

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function withoutPodOwners(refs: V1OwnerReference[] | undefined): V1OwnerReference[] {
  return (refs ?? []).filter((r) => !(r.apiVersion === 'v1' && r.kind === 'Pod'));
}

function change(existing: SpiderEndpoint | undefined, next: SpiderEndpoint): EndpointChange {
  if (
    existing &&
    same(existing.metadata.finalizers, next.metadata.finalizers) &&
    same(existing.metadata.ownerReferences ?? [], next.metadata.ownerReferences ?? []) &&
    same(existing.status, next.status)
  ) {
    return { kind: 'none' };
  }
  return { kind: 'write', endpoint: next };
}

/**
 * The endpoint after an ADD of `identity`'s pod on `nodeName` with `networks`. The pod becomes the
 * current holder. A static identity keeps the entries of NICs this ADD did not touch; a stateless
 * pod's endpoint left by an earlier pod of the same name is replaced whole. Stateless endpoints are
 * owned by their Pod, so they go with it.
 */
export function endpointAfterAdd(
  existing: SpiderEndpoint | undefined,
  identity: Identity,
  nodeName: string,
  networks: readonly NicNetwork[],
): EndpointChange {
  if (existing?.metadata.deletionTimestamp) {
    throw new CniError(
      ErrorCode.tryAgainLater,
      `SpiderEndpoint ${identity.key} of an earlier pod is being deleted; the addresses stay recorded for pod UID ${identity.podUid} until a retry`,
    );
  }
  const current = existing?.status?.current;
  const keepOthers = current !== undefined && (identity.static || current.uid === identity.podUid);
  const entries: IPAllocationDetail[] = keepOthers ? current.ips.map((e) => ({ ...e })) : [];
  for (const network of networks) {
    const entry = endpointEntry(network);
    const at = entries.findIndex((e) => e.interface === entry.interface);
    if (at >= 0) entries[at] = entry;
    else entries.push(entry);
  }
  const refs = withoutPodOwners(existing?.metadata.ownerReferences);
  if (identity.endpointOwnedByPod) {
    refs.push({ apiVersion: 'v1', kind: 'Pod', name: identity.podName, uid: identity.podUid });
  }
  const finalizers = existing?.metadata.finalizers ?? [];
  const next: SpiderEndpoint = {
    apiVersion,
    kind: kinds.endpoint.kind,
    metadata: {
      ...(existing?.metadata ?? {}),
      name: identity.name,
      namespace: identity.namespace,
      finalizers: finalizers.includes(finalizer) ? finalizers : [...finalizers, finalizer],
      ...(refs.length ? { ownerReferences: refs } : {}),
    },
    status: {
      current: { uid: identity.podUid, node: nodeName, ips: entries },
      ownerControllerType: identity.ownerControllerType,
      ownerControllerName: identity.ownerControllerName,
    },
  };
  if (!refs.length) delete next.metadata.ownerReferences;
  return change(existing, next);
}

export interface ReleasedFromEndpoint {
  /** The pod whose addresses were released; only its endpoint is touched. */
  podUid: string;
  /** Only this NIC's entry (GC); all entries when absent (DEL). */
  nic?: string;
  /** Only these addresses of `nic` (a conflict). */
  ips?: readonly string[];
  /** Delete the endpoint once it holds nothing (the pod is gone, or the static identity is). */
  deleteWhenEmpty: boolean;
}

function bare(address: string | undefined): string | undefined {
  return address?.split('/')[0];
}

function withoutAddresses(entry: IPAllocationDetail, ips: readonly string[]): IPAllocationDetail {
  const out = { ...entry };
  if (ips.includes(bare(out.ipv4) ?? '')) {
    delete out.ipv4;
    delete out.ipv4Pool;
    delete out.ipv4Gateway;
  }
  if (ips.includes(bare(out.ipv6) ?? '')) {
    delete out.ipv6;
    delete out.ipv6Pool;
    delete out.ipv6Gateway;
  }
  return out;
}

/**
 * The endpoint after releasing a pod's addresses. Only an endpoint that pod holds is touched. When it
 * holds nothing more, its finalizer goes (a stateless endpoint then goes with its Pod through the
 * ownerReference) and, when asked, the endpoint itself.
 */
export function endpointAfterRelease(
  existing: SpiderEndpoint | undefined,
  released: ReleasedFromEndpoint,
): EndpointChange {
  const current = existing?.status?.current;
  if (!existing || !current || current.uid !== released.podUid) return { kind: 'none' };
  let entries: IPAllocationDetail[] = [];
  if (released.nic !== undefined) {
    entries = current.ips
      .map((e) =>
        e.interface !== released.nic ? e : released.ips ? withoutAddresses(e, released.ips) : undefined,
      )
      .filter(
        (e): e is IPAllocationDetail => e !== undefined && (e.ipv4 !== undefined || e.ipv6 !== undefined),
      );
  }
  const status = existing.status;
  if (!status) return { kind: 'none' };
  if (entries.length > 0)
    return change(existing, { ...existing, status: { ...status, current: { ...current, ips: entries } } });
  // Nothing held any more: the finalizer goes. A DEL keeps the entries as a record of what the pod
  // had (as Spiderpool does); a release of one NIC leaves none.
  const finalizers = (existing.metadata.finalizers ?? []).filter((f) => f !== finalizer);
  const next: SpiderEndpoint = {
    ...existing,
    metadata: { ...existing.metadata, finalizers },
    status: released.nic === undefined ? status : { ...status, current: { ...current, ips: [] } },
  };
  if (released.deleteWhenEmpty) return { kind: 'delete', endpoint: next };
  return change(existing, next);
}
