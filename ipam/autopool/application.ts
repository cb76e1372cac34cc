// The application an auto-pool belongs to (Spiderpool's "pod top controller") and what names and
// labels follow from it: the pool name `auto<4|6>-<app>-<nic>-<uid suffix>`, the owner-application
// labels the plugin finds the pool by, and the podAffinity that keeps other pods out (Spiderpool's
// pkg/applicationcontroller/applicationinformers/utils.go AutoPoolName, ApplicationLabelGV,
// ApplicationNamespacedName; pkg/subnetmanager/subnet_manager.go; pkg/constant/k8s.go).
import type { V1LabelSelector } from '@kubernetes/client-node';
import { kubevirtApiVersion, kubevirtKinds, labels } from '../../api/index.js';
import type { Family } from '../address/ip.js';

export interface Application {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

/** The kinds that get auto-pools from the operator's watches: Spiderpool's and KubeVirt's VirtualMachine. */
export const applicationKinds = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'ReplicaSet' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'batch/v1', kind: 'Job' },
  { apiVersion: 'batch/v1', kind: 'CronJob' },
  { apiVersion: kubevirtApiVersion, kind: kubevirtKinds.vm.kind },
] as const;

export function isApplicationKind(ref: { apiVersion?: string; kind?: string }): boolean {
  return applicationKinds.some((k) => k.apiVersion === ref.apiVersion && k.kind === ref.kind);
}

/** The API versions of Kubernetes's own controllers (Spiderpool's constant.K8sAPIVersions). */
const kubernetesApiVersions = ['v1', 'apps/v1', 'batch/v1'];

/**
 * A third-party controller: an owner of another API (an OpenKruise CloneSet, say). Spiderpool takes
 * any such top controller as it is and serves it a pool of a fixed size; KubeVirt's kinds are not
 * among them here (a launcher pod's application is its VirtualMachine, as above).
 */
export function isThirdPartyController(ref: { apiVersion?: string; kind?: string }): boolean {
  const apiVersion = ref.apiVersion ?? '';
  if (!apiVersion || kubernetesApiVersions.includes(apiVersion)) return false;
  return !apiVersion.startsWith(`${kubevirtApiVersion.split('/')[0]}/`);
}

/** `apps/v1` → `apps_v1`, `v1` → `v1` (a label value cannot hold a slash). */
export function labelGV(apiVersion: string): string {
  return apiVersion.replace('/', '_');
}

/** Spiderpool's `application` of a subnet's controlledIPPools entry: `<group>_<version>_<Kind>_<ns>_<name>`. */
export function applicationKey(app: Omit<Application, 'uid'>): string {
  return `${labelGV(app.apiVersion)}_${app.kind}_${app.namespace}_${app.name}`;
}

export const ipVersionLabel = (family: Family): string => (family === 4 ? 'IPv4' : 'IPv6');

const maxName = 253;

/** `auto<family>-<app name>-<nic>-<first 5 of the UID's last group>`, cut to 253 characters. */
export function autoPoolName(app: Pick<Application, 'name' | 'uid'>, family: Family, nic: string): string {
  const last = (app.uid.split('-').pop() ?? '').slice(0, 5);
  // "auto4" and three dashes (Spiderpool counts two, so its longest names are 254 characters, one too many).
  const room = maxName - last.length - 8;
  const name =
    app.name.length + nic.length > room ? app.name.slice(0, Math.max(0, room - nic.length)) : app.name;
  return `auto${family}-${name}-${nic}-${last}`.toLowerCase();
}

/** The labels the plugin selects an application's auto-pools by (without the UID, which changes on re-adoption). */
export function applicationSelector(app: Omit<Application, 'uid'>): Record<string, string> {
  return {
    [labels.ownerApplicationKind]: app.kind,
    [labels.ownerApplicationNamespace]: app.namespace,
    [labels.ownerApplicationName]: app.name,
  };
}

/** Every label of an auto-pool (the webhook adds the CIDR label). */
export function autoPoolLabels(
  app: Application,
  subnet: string,
  nic: string,
  family: Family,
  reclaim: boolean,
): Record<string, string> {
  return {
    [labels.ownerSpiderSubnet]: subnet,
    [labels.ownerApplicationGV]: labelGV(app.apiVersion),
    ...applicationSelector(app),
    [labels.ownerApplicationUID]: app.uid,
    [labels.interface]: nic,
    [labels.ipVersion]: ipVersionLabel(family),
    [labels.ippoolReclaim]: String(reclaim),
  };
}

/** The app-* values of an application, what an auto-pool's podAffinity is matched against. */
export function applicationAffinityLabels(app: Omit<Application, 'uid'>): Record<string, string> {
  const [group, version] = app.apiVersion.includes('/') ? app.apiVersion.split('/') : ['', app.apiVersion];
  return {
    [labels.appAPIGroup]: group ?? '',
    [labels.appAPIVersion]: version ?? '',
    [labels.appKind]: app.kind,
    [labels.appNamespace]: app.namespace,
    [labels.appName]: app.name,
  };
}

export function autoPoolAffinity(app: Omit<Application, 'uid'>): V1LabelSelector {
  return { matchLabels: applicationAffinityLabels(app) };
}

/** The application an auto-pool's labels name, or undefined for a pool that is not an auto-pool. */
export function applicationOfPool(
  poolLabels: Record<string, string> | undefined,
): (Application & { nic: string; reclaim: boolean }) | undefined {
  const l = poolLabels ?? {};
  const kind = l[labels.ownerApplicationKind];
  const name = l[labels.ownerApplicationName];
  const namespace = l[labels.ownerApplicationNamespace];
  const gv = l[labels.ownerApplicationGV];
  if (!kind || !name || !namespace || !gv) return undefined;
  return {
    apiVersion: gv.replace('_', '/'),
    kind,
    namespace,
    name,
    uid: l[labels.ownerApplicationUID] ?? '',
    nic: l[labels.interface] ?? '',
    reclaim: l[labels.ippoolReclaim] !== 'false',
  };
}
