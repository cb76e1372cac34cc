// What an application object says about its auto-pools: its pod template's annotations and how many
// pods it runs (Spiderpool's GetAppReplicas and CalculateJobPodNum in
// pkg/applicationcontroller/applicationinformers/utils.go; a VirtualMachine runs one launcher pod).
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { kubevirtKinds } from '../../api/index.js';
import { controllerOf } from '../identity/owners.js';
import type { Application } from './application.js';

/** The parts of a Deployment, ReplicaSet, StatefulSet, DaemonSet, Job or VirtualMachine read here. */
export interface Workload {
  metadata?: V1ObjectMeta;
  spec?: {
    replicas?: number;
    parallelism?: number;
    completions?: number;
    template?: { metadata?: V1ObjectMeta };
  };
  status?: { desiredNumberScheduled?: number };
}

export function templateAnnotations(object: Workload): Record<string, string> | undefined {
  return object.spec?.template?.metadata?.annotations;
}

/** A ReplicaSet a Deployment controls is not an application of its own: the Deployment is. */
export function isDeploymentReplicaSet(kind: string, object: Workload): boolean {
  const owner = controllerOf(object.metadata);
  return kind === 'ReplicaSet' && owner?.apiVersion === 'apps/v1' && owner.kind === 'Deployment';
}

function jobPods(parallelism: number | undefined, completions: number | undefined): number {
  if (completions !== undefined) return completions === 0 ? 1 : completions;
  if (parallelism !== undefined) return parallelism === 0 ? 1 : parallelism;
  return 1;
}

/** How many pods the application runs, what a `+N` size adds N to. */
export function applicationReplicas(app: Pick<Application, 'kind'>, object: Workload): number {
  switch (app.kind) {
    case 'DaemonSet':
      return object.status?.desiredNumberScheduled ?? 0;
    case 'Job':
      return jobPods(object.spec?.parallelism, object.spec?.completions);
    case kubevirtKinds.vm.kind:
      return 1;
    default:
      return object.spec?.replicas ?? 1;
  }
}
