// Reads of Kubernetes' own objects that both executables make (pods, namespaces, nodes and the
// controllers that own pods), through the one REST layer. An object that does not exist reads as
// undefined, as in kubevirt.ts.
import type { V1Job, V1Namespace, V1Node, V1Pod, V1ReplicaSet, V1StatefulSet } from '@kubernetes/client-node';
import { unlessNotFound } from './errors.js';
import { type ResourceRef, resourcePath } from './resource.js';
import type { RestClient } from './rest.js';

const core = (plural: string, namespace?: string): ResourceRef => ({
  group: '',
  version: 'v1',
  plural,
  ...(namespace ? { namespace } : {}),
});
const apps = (plural: string, namespace: string): ResourceRef => ({
  group: 'apps',
  version: 'v1',
  plural,
  namespace,
});

export class BuiltinApi {
  constructor(private readonly rest: RestClient) {}

  private get<T>(ref: ResourceRef, name: string): Promise<T | undefined> {
    return unlessNotFound(this.rest.get<T>(resourcePath(ref, name)));
  }

  getPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return this.get(core('pods', namespace), name);
  }

  /** Every pod of a namespace, read consistently. */
  async listPods(namespace: string): Promise<V1Pod[]> {
    return (await this.rest.get<{ items?: V1Pod[] }>(resourcePath(core('pods', namespace)))).items ?? [];
  }

  getNamespace(name: string): Promise<V1Namespace | undefined> {
    return this.get(core('namespaces'), name);
  }

  getNode(name: string): Promise<V1Node | undefined> {
    return this.get(core('nodes'), name);
  }

  getReplicaSet(namespace: string, name: string): Promise<V1ReplicaSet | undefined> {
    return this.get(apps('replicasets', namespace), name);
  }

  getStatefulSet(namespace: string, name: string): Promise<V1StatefulSet | undefined> {
    return this.get(apps('statefulsets', namespace), name);
  }

  getJob(namespace: string, name: string): Promise<V1Job | undefined> {
    return this.get({ group: 'batch', version: 'v1', plural: 'jobs', namespace }, name);
  }
}
