// Labels every installed object carries, and the selector labels of the two workloads. Selectors
// are spelled out instead of cdk8s-plus's hashed `cdk8s.io/metadata.addr`, because a Deployment's or
// DaemonSet's selector is immutable and must not change when the code that builds it does.
import { objectNames } from '../../api/install/names.js';

export const partOf = { 'app.kubernetes.io/part-of': 'spiderpool-ts' } as const;

export function componentLabels(component: string): Record<string, string> {
  return { ...partOf, 'app.kubernetes.io/component': component };
}

export const nodeSelectorLabels = { 'app.kubernetes.io/name': objectNames.nodeDaemonSet } as const;
export const operatorSelectorLabels = { 'app.kubernetes.io/name': objectNames.operatorDeployment } as const;
