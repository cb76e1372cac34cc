// Typed reads and writes of the spiderpool.spidernet.io/v2beta1 resources.
import { type CustomObjectsApi, setHeaderOptions, type V1ObjectMeta } from '@kubernetes/client-node';
import {
  apiVersion,
  group,
  kinds,
  type SpiderEndpoint,
  type SpiderIPPool,
  type SpiderReservedIP,
  type SpiderSubnet,
  version,
} from '../api/index.js';

interface List<T> {
  items: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/** One item of a metadata-only list: the object's metadata without its spec and status. */
export interface PartialObjectMetadata {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
}

/**
 * Asks for a PartialObjectMetadataList (names, labels, resourceVersions, no spec or status); a server
 * that cannot convert answers the full list instead, which carries the same metadata.
 */
export const metadataListAccept =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json';

const pools = { group, version, plural: kinds.ippool.plural };
const endpoints = { group, version, plural: kinds.endpoint.plural };
const reservedIPs = { group, version, plural: kinds.reservedip.plural };
const subnets = { group, version, plural: kinds.subnet.plural };

export class SpiderpoolApi {
  constructor(private readonly objects: CustomObjectsApi) {}

  getPool(name: string): Promise<SpiderIPPool> {
    return this.objects.getClusterCustomObject({ ...pools, name }) as Promise<SpiderIPPool>;
  }

  /** `fieldSelector` may name `spec.default`, the CRD's selectable field (Kubernetes 1.32+). */
  listPools(labelSelector?: string, fieldSelector?: string): Promise<List<SpiderIPPool>> {
    return this.objects.listClusterCustomObject({ ...pools, labelSelector, fieldSelector }) as Promise<
      List<SpiderIPPool>
    >;
  }

  /** Every pool's metadata only: the names without the statuses, which hold one record per address. */
  listPoolMetadata(): Promise<List<PartialObjectMetadata>> {
    return this.objects.listClusterCustomObject(
      { ...pools },
      setHeaderOptions('Accept', metadataListAccept),
    ) as Promise<List<PartialObjectMetadata>>;
  }

  /** PUT /status guarded by the resourceVersion in `pool.metadata`: 409 when someone wrote in between. */
  replacePoolStatus(pool: SpiderIPPool): Promise<SpiderIPPool> {
    const name = pool.metadata.name ?? '';
    return this.objects.replaceClusterCustomObjectStatus({
      ...pools,
      name,
      body: { apiVersion, kind: kinds.ippool.kind, ...pool },
    }) as Promise<SpiderIPPool>;
  }

  createPool(pool: SpiderIPPool): Promise<SpiderIPPool> {
    return this.objects.createClusterCustomObject({
      ...pools,
      body: { apiVersion, kind: kinds.ippool.kind, ...pool },
    }) as Promise<SpiderIPPool>;
  }

  replacePool(pool: SpiderIPPool): Promise<SpiderIPPool> {
    return this.objects.replaceClusterCustomObject({
      ...pools,
      name: pool.metadata.name ?? '',
      body: { apiVersion, kind: kinds.ippool.kind, ...pool },
    }) as Promise<SpiderIPPool>;
  }

  getEndpoint(namespace: string, name: string): Promise<SpiderEndpoint> {
    return this.objects.getNamespacedCustomObject({
      ...endpoints,
      namespace,
      name,
    }) as Promise<SpiderEndpoint>;
  }

  listEndpoints(opts: { namespace?: string; labelSelector?: string } = {}): Promise<List<SpiderEndpoint>> {
    const { namespace, labelSelector } = opts;
    return (
      namespace
        ? this.objects.listNamespacedCustomObject({ ...endpoints, namespace, labelSelector })
        : this.objects.listClusterCustomObject({ ...endpoints, labelSelector })
    ) as Promise<List<SpiderEndpoint>>;
  }

  createEndpoint(endpoint: SpiderEndpoint): Promise<SpiderEndpoint> {
    return this.objects.createNamespacedCustomObject({
      ...endpoints,
      namespace: endpoint.metadata.namespace ?? '',
      body: { apiVersion, kind: kinds.endpoint.kind, ...endpoint },
    }) as Promise<SpiderEndpoint>;
  }

  /** PUT guarded by the resourceVersion in `endpoint.metadata`. SpiderEndpoint has no status subresource. */
  replaceEndpoint(endpoint: SpiderEndpoint): Promise<SpiderEndpoint> {
    return this.objects.replaceNamespacedCustomObject({
      ...endpoints,
      namespace: endpoint.metadata.namespace ?? '',
      name: endpoint.metadata.name ?? '',
      body: { apiVersion, kind: kinds.endpoint.kind, ...endpoint },
    }) as Promise<SpiderEndpoint>;
  }

  /** Deletes only the object with this UID (a precondition), never a same-name successor. */
  deleteEndpoint(namespace: string, name: string, uid?: string): Promise<unknown> {
    return this.objects.deleteNamespacedCustomObject({
      ...endpoints,
      namespace,
      name,
      body: uid ? { preconditions: { uid } } : undefined,
    });
  }

  listReservedIPs(): Promise<List<SpiderReservedIP>> {
    return this.objects.listClusterCustomObject({ ...reservedIPs }) as Promise<List<SpiderReservedIP>>;
  }

  listSubnets(): Promise<List<SpiderSubnet>> {
    return this.objects.listClusterCustomObject({ ...subnets }) as Promise<List<SpiderSubnet>>;
  }
}
