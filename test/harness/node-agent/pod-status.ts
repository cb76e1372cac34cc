// The pod status kubelet writes, computed from the pod and its sandbox: Running with the default
// network's addresses as podIPs, Ready/ContainersReady, and container statuses whose imageID carries a
// digest (virt-controller refuses to migrate a VMI whose launcher image has no reproducible digest).
import { createHash } from 'node:crypto';
import type { V1ContainerStatus, V1Pod, V1PodCondition } from '@kubernetes/client-node';

/** `<image>@sha256:<hex>`: the image's own digest when it names one, else one derived from its name. */
export function imageId(image: string): string {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return image;
  const repo = image.replace(/:[^/:@]+$/, '');
  return `${repo}@sha256:${createHash('sha256').update(image).digest('hex')}`;
}

function containerStatuses(
  pod: V1Pod,
  containerId: string,
  state: 'running' | 'completed' | 'failed',
  at: string,
): { containerStatuses: V1ContainerStatus[]; initContainerStatuses: V1ContainerStatus[] } {
  const terminated = (exitCode: number, reason: string) => ({
    terminated: {
      exitCode,
      reason,
      startedAt: at,
      finishedAt: at,
      containerID: `containerd://${containerId}`,
    },
  });
  const status = (name: string, image: string, i: number, init: boolean): V1ContainerStatus => {
    const id = createHash('sha256').update(`${containerId}/${name}/${i}`).digest('hex');
    const running = state === 'running' && !init;
    return {
      name,
      image,
      imageID: imageId(image),
      containerID: `containerd://${id}`,
      ready: running,
      started: running,
      restartCount: 0,
      state: running
        ? { running: { startedAt: at as unknown as Date } }
        : (terminated(
            init || state === 'completed' ? 0 : 1,
            init || state === 'completed' ? 'Completed' : 'Error',
          ) as unknown as V1ContainerStatus['state']),
    };
  };
  return {
    containerStatuses: (pod.spec?.containers ?? []).map((c, i) => status(c.name, c.image ?? '', i, false)),
    initContainerStatuses: (pod.spec?.initContainers ?? []).map((c, i) =>
      status(c.name, c.image ?? '', i, true),
    ),
  };
}

function condition(type: string, ok: boolean, at: string, reason?: string): V1PodCondition {
  return {
    type,
    status: ok ? 'True' : 'False',
    lastTransitionTime: at as unknown as Date,
    ...(reason ? { reason } : {}),
  } as V1PodCondition;
}

/** Whether every readiness gate of the pod has its condition True (kubelet's rule for Ready). */
export function readinessGatesMet(pod: V1Pod): boolean {
  const conditions = pod.status?.conditions ?? [];
  return (pod.spec?.readinessGates ?? []).every((g) =>
    conditions.some((c) => c.type === g.conditionType && c.status === 'True'),
  );
}

export interface RunningPod {
  containerId: string;
  podIPs: string[];
  startedAt: string;
}

/** The status of a pod whose sandbox is up and whose containers run. */
export function runningStatus(pod: V1Pod, sandbox: RunningPod): Record<string, unknown> {
  const at = sandbox.startedAt;
  const ready = readinessGatesMet(pod);
  return {
    phase: 'Running',
    ...(sandbox.podIPs[0] ? { podIP: sandbox.podIPs[0] } : {}),
    podIPs: sandbox.podIPs.map((ip) => ({ ip })),
    startTime: at,
    conditions: [
      condition('PodReadyToStartContainers', true, at),
      condition('Initialized', true, at),
      condition('ContainersReady', true, at),
      condition('Ready', ready, at, ready ? undefined : 'ReadinessGatesNotReady'),
      condition('PodScheduled', true, at),
    ],
    ...containerStatuses(pod, sandbox.containerId, 'running', at),
  };
}

/** The status of a pod whose containers have exited (the launcher after migrating away, or failing). */
export function finishedStatus(
  pod: V1Pod,
  containerId: string,
  phase: 'Succeeded' | 'Failed',
): Record<string, unknown> {
  const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    phase,
    conditions: [
      condition('ContainersReady', false, at, 'PodCompleted'),
      condition('Ready', false, at, 'PodCompleted'),
    ],
    ...containerStatuses(pod, containerId, phase === 'Succeeded' ? 'completed' : 'failed', at),
  };
}

/** Whether the pod's status already says what `runningStatus` would write. */
export function isRunningAsWanted(pod: V1Pod, podIPs: string[]): boolean {
  const s = pod.status;
  if (s?.phase !== 'Running') return false;
  const ips = (s.podIPs ?? []).map((p) => p.ip);
  if (ips.join(',') !== podIPs.join(',')) return false;
  const ready = s.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  return ready === readinessGatesMet(pod) && (s.containerStatuses?.length ?? 0) > 0;
}
