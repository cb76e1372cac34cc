// Spiderpool's first pool-selection rule: a pod whose annotations name a SpiderSubnet takes its
// addresses from its application's auto-pool, found by the owner-application labels, never from any
// other pool. While the operator has not made the pool yet, the answer is "try again" (Spiderpool's
// agent waits up to 25 × 2 s for it, pkg/ipam/pool_selections.go; here the runtime retries). A pod
// without an application (Spiderpool: orphan pods unsupported) or with auto-pools off is refused.
import type { V1Pod } from '@kubernetes/client-node';
import { kubevirtApiVersion, kubevirtKinds, labels, type SpiderIPPool } from '../../api/index.js';
import type { Candidates, NicCandidates } from '../candidates/candidates.js';
import { IpamError } from '../errors.js';
import { type ControllerRef, isKubeVirtVMIRef } from '../identity/owners.js';
import {
  type Application,
  applicationSelector,
  ipVersionLabel,
  isApplicationKind,
  isThirdPartyController,
} from './application.js';
import { fixedPoolSize, parseAutoPoolRequest, subnetAnnotationOf } from './request.js';

/**
 * The application whose auto-pool serves a pod with this top controller: the controller itself, or
 * for a KubeVirt launcher pod (top controller a VMI) the VirtualMachine of the same name, whose UID the
 * pod does not tell; a third-party controller is taken as it is (Spiderpool's rule). Undefined for a
 * bare pod.
 */
export function podApplication(
  namespace: string,
  top: ControllerRef,
): (Omit<Application, 'uid'> & { uid?: string }) | undefined {
  if (isKubeVirtVMIRef(top))
    return { apiVersion: kubevirtApiVersion, kind: kubevirtKinds.vm.kind, namespace, name: top.name };
  if (!isApplicationKind(top) && !isThirdPartyController(top)) return undefined;
  return {
    apiVersion: top.apiVersion,
    kind: top.kind,
    namespace,
    name: top.name,
    ...(top.uid ? { uid: top.uid } : {}),
  };
}

/** The label selector (API syntax) of an application's auto-pools. */
export function applicationLabelSelector(app: Omit<Application, 'uid'>): string {
  return Object.entries(applicationSelector(app))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export interface AutoPoolCandidateInput {
  ifName: string;
  pod: V1Pod;
  app: ReturnType<typeof podApplication>;
  /** conf.yml enableSpiderSubnet and enableAutoPoolForApplication, both on. */
  autoPools: boolean;
  enableIPv4: boolean;
  enableIPv6: boolean;
  cleanGateway: boolean;
  /** The application's auto-pools (any others are ignored). */
  pools: readonly SpiderIPPool[];
}

const describeApp = (app: Omit<Application, 'uid'>) => `${app.kind} ${app.namespace}/${app.name}`;

export function autoPoolCandidates(input: AutoPoolCandidateInput): Candidates {
  const a = input.pod.metadata?.annotations ?? {};
  const annotation = subnetAnnotationOf(a);
  if (!input.autoPools) {
    throw new IpamError(
      'InvalidInput',
      'names a SpiderSubnet, but SpiderSubnet auto-pools are off (conf.yml enableSpiderSubnet and enableAutoPoolForApplication must both be true)',
      { field: annotation, value: a[annotation] },
    );
  }
  const request = parseAutoPoolRequest(a, { flexible: true, n: 0 });
  if (!request) throw new IpamError('InvalidInput', 'names no SpiderSubnet', { field: annotation });
  const app = input.app;
  if (!app) {
    throw new IpamError(
      'InvalidInput',
      `names a SpiderSubnet, but pod ${input.pod.metadata?.name} has no application (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, VirtualMachine or a third-party controller) to make an auto-pool for`,
      { field: annotation, value: a[annotation] },
    );
  }
  if (isThirdPartyController(app)) fixedPoolSize(a, describeApp(app));
  const slots = request.slots.filter(
    (s) => s.nic === input.ifName && (s.family === 4 ? input.enableIPv4 : input.enableIPv6),
  );
  if (slots.length === 0) {
    throw new IpamError(
      'InvalidInput',
      `names no SpiderSubnet for interface ${input.ifName} in an enabled family`,
      {
        field: annotation,
        value: a[annotation],
      },
    );
  }
  const nic: NicCandidates = { nic: input.ifName, cleanGateway: input.cleanGateway };
  for (const slot of slots) {
    const pool = input.pools.find((p) => {
      const l = p.metadata.labels ?? {};
      return (
        l[labels.ownerApplicationKind] === app.kind &&
        l[labels.ownerApplicationNamespace] === app.namespace &&
        l[labels.ownerApplicationName] === app.name &&
        (app.uid === undefined || l[labels.ownerApplicationUID] === app.uid) &&
        l[labels.interface] === slot.nic &&
        l[labels.ipVersion] === ipVersionLabel(slot.family) &&
        l[labels.ownerSpiderSubnet] === slot.subnet
      );
    });
    if (!pool) {
      throw new IpamError(
        'AutoPoolPending',
        `the IPv${slot.family} auto-pool of ${describeApp(app)} for ${slot.nic} from SpiderSubnet ${slot.subnet} does not exist yet (the operator makes it)`,
        { field: annotation },
      );
    }
    nic[slot.family === 4 ? 'ipv4' : 'ipv6'] = [pool.metadata.name ?? ''];
  }
  return { source: 'subnet-auto-pool', origin: annotation, nics: [nic], current: nic };
}
