// Pieces the two workloads share: resource amounts from values, volume mounts.
import { ApiObject, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import type { Values } from '../values/schema.js';

type ResourceValues = Values['node']['resources'];

const memoryUnits: Record<string, (n: number) => Size> = {
  Ki: Size.kibibytes,
  Mi: Size.mebibytes,
  Gi: Size.gibibytes,
  Ti: Size.tebibytes,
};

/** `100m` or `0.5` as cdk8s-plus CPU. The values schema admits only these forms. */
export function cpu(amount: string): kplus.Cpu {
  return amount.endsWith('m')
    ? kplus.Cpu.millis(Number(amount.slice(0, -1)))
    : kplus.Cpu.units(Number(amount));
}

/** `128Mi` as a cdk8s Size. */
export function memory(amount: string): Size {
  const unit = memoryUnits[amount.slice(-2)];
  if (!unit) throw new Error(`memory amount ${amount}: expected Ki, Mi, Gi or Ti`);
  return unit(Number(amount.slice(0, -2)));
}

/** Explicit requests and limits: cdk8s-plus would otherwise give every container 1 CPU / 512Mi. */
export function resources(r: ResourceValues): kplus.ContainerResources {
  return {
    cpu: { request: cpu(r.requests.cpu), limit: cpu(r.limits.cpu) },
    memory: { request: memory(r.requests.memory), limit: memory(r.limits.memory) },
  };
}

export function volumeMount(path: string, volume: kplus.Volume, readOnly = false): kplus.VolumeMount {
  return { path, volume, readOnly };
}

/**
 * Removes the hashed `cdk8s.io/metadata.addr` label cdk8s-plus puts on pod templates: the workloads
 * select by their own stable labels, and a label derived from the construct path would roll every
 * pod when the code that builds the chart is reorganised.
 */
export function dropAddressLabel(workload: kplus.Workload): void {
  ApiObject.of(workload).addJsonPatch(
    JsonPatch.remove('/spec/template/metadata/labels/cdk8s.io~1metadata.addr'),
  );
}
