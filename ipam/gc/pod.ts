// What the garbage-collection rules read of a Pod, and nothing more. The operator caches every pod
// of the cluster; keeping only these fields (no containers, volumes, conditions or managed fields)
// makes each cached pod a few hundred bytes instead of several kilobytes.
import type { V1Pod } from '@kubernetes/client-node';

/** Annotation prefixes the rules read: Spiderpool's, Multus's network selection, KubeVirt's marks. */
const keptAnnotationPrefixes = [
  'ipam.spidernet.io/',
  'k8s.v1.cni.cncf.io/networks',
  'v1.multus-cni.io/',
  'kubevirt.io/',
];

function keptAnnotations(
  annotations: Record<string, string> | undefined,
): Record<string, string> | undefined {
  if (!annotations) return undefined;
  const out: Record<string, string> = {};
  let any = false;
  for (const [key, value] of Object.entries(annotations)) {
    if (!keptAnnotationPrefixes.some((p) => key.startsWith(p))) continue;
    out[key] = value;
    any = true;
  }
  return any ? out : undefined;
}

/**
 * The pod reduced to what identities, aliveness, grace periods, migrations and pool selection read:
 * names, UID, owners, labels (pool podAffinity matches them), the annotations above, node, restart
 * policy, phase and reason.
 */
export function slimPod(pod: V1Pod): V1Pod {
  const md = pod.metadata ?? {};
  const metadata: NonNullable<V1Pod['metadata']> = {};
  if (md.name !== undefined) metadata.name = md.name;
  if (md.namespace !== undefined) metadata.namespace = md.namespace;
  if (md.uid !== undefined) metadata.uid = md.uid;
  if (md.resourceVersion !== undefined) metadata.resourceVersion = md.resourceVersion;
  if (md.creationTimestamp !== undefined) metadata.creationTimestamp = md.creationTimestamp;
  if (md.deletionTimestamp !== undefined) metadata.deletionTimestamp = md.deletionTimestamp;
  if (md.deletionGracePeriodSeconds !== undefined)
    metadata.deletionGracePeriodSeconds = md.deletionGracePeriodSeconds;
  if (md.labels !== undefined) metadata.labels = md.labels;
  const annotations = keptAnnotations(md.annotations);
  if (annotations) metadata.annotations = annotations;
  const controller = md.ownerReferences?.filter((r) => r.controller === true);
  if (controller?.length) metadata.ownerReferences = controller;

  const out: V1Pod = { metadata };
  if (pod.apiVersion !== undefined) out.apiVersion = pod.apiVersion;
  if (pod.kind !== undefined) out.kind = pod.kind;
  const spec = pod.spec;
  if (spec) {
    out.spec = { containers: [] };
    if (spec.nodeName !== undefined) out.spec.nodeName = spec.nodeName;
    if (spec.restartPolicy !== undefined) out.spec.restartPolicy = spec.restartPolicy;
    if (spec.hostNetwork !== undefined) out.spec.hostNetwork = spec.hostNetwork;
  }
  const status = pod.status;
  if (status) {
    out.status = {};
    if (status.phase !== undefined) out.status.phase = status.phase;
    if (status.reason !== undefined) out.status.reason = status.reason;
  }
  return out;
}

/** The moment a terminating pod's grace period ends (deletionTimestamp already includes it). */
export function graceDeadlineMs(pod: V1Pod): number | undefined {
  const stamp = pod.metadata?.deletionTimestamp;
  if (stamp === undefined) return undefined;
  const ms = stamp instanceof Date ? stamp.getTime() : Date.parse(String(stamp));
  return Number.isNaN(ms) ? undefined : ms;
}
