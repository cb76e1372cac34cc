// What an application object says about its auto-pools: its pod template's annotations and how many
// pods it runs (Spiderpool's GetAppReplicas and CalculateJobPodNum in
// pkg/applicationcontroller/applicationinformers/utils.go, and its syncHandler in
// pkg/applicationcontroller/app_controller.go, which reads a CronJob's job template; a VirtualMachine
// runs one launcher pod).
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { kubevirtKinds } from '../../api/index.js';
import { controllerOf } from '../identity/owners.js';
import type { Application } from './application.js';

interface JobSpec {
  parallelism?: number;
  completions?: number;
  template?: { metadata?: V1ObjectMeta };
}

/** The parts of a Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob or VirtualMachine read here. */
export interface Workload {
  metadata?: V1ObjectMeta;
  spec?: JobSpec & {
    replicas?: number;
    /** A CronJob's: the Jobs it makes, and through them its pods. */
    jobTemplate?: { spec?: JobSpec };
  };
  status?: { desiredNumberScheduled?: number };
}

export function templateAnnotations(object: Workload): Record<string, string> | undefined {
  const spec = object.spec?.jobTemplate ? object.spec.jobTemplate.spec : object.spec;
  return spec?.template?.metadata?.annotations;
}

/**
 * A ReplicaSet a Deployment controls, or a Job a CronJob controls, is not an application of its own:
 * the controller above it is (the pod's top controller, ipam/identity/owners.ts).
 */
export function isIntermediateController(kind: string, object: Workload): boolean {
  const owner = controllerOf(object.metadata);
  if (kind === 'ReplicaSet') return owner?.apiVersion === 'apps/v1' && owner.kind === 'Deployment';
  if (kind === 'Job') return owner?.apiVersion === 'batch/v1' && owner.kind === 'CronJob';
  return false;
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
    case 'CronJob':
      // One Job's worth: the pool is sized to the job template, not to the Jobs run over time.
      return jobPods(
        object.spec?.jobTemplate?.spec?.parallelism,
        object.spec?.jobTemplate?.spec?.completions,
      );
    case kubevirtKinds.vm.kind:
      return 1;
    default:
      return object.spec?.replicas ?? 1;
  }
}
