// Typed reads and writes of the spiderpool.spidernet.io/v2beta1 resources, through the one REST layer.
import type { V1ObjectMeta } from '@kubernetes/client-node';
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
import { type ResourceRef, resourcePath } from './resource.js';
import type { RestClient } from './rest.js';

export interface List<T> {
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

const pools: ResourceRef = { group, version, plural: kinds.ippool.plural };
const endpoints = (namespace?: string): ResourceRef => ({
  group,
  version,
  plural: kinds.endpoint.plural,
  ...(namespace ? { namespace } : {}),
});
const reservedIPs: ResourceRef = { group, version, plural: kinds.reservedip.plural };
const subnets: ResourceRef = { group, version, plural: kinds.subnet.plural };

export interface ListOptions {
  /**
   * `resourceVersion=0`: the API server answers from its watch cache at once, possibly a moment
   * behind etcd. Without it a list is consistent, and the API server first waits for its cache to
   * catch up with etcd, which for a resource nobody has written since takes up to its
   * progress-notification period (measured: 90 ms median after a write, 1 ms from the cache).
   */
  fromCache?: boolean;
}

const cacheQuery = (fromCache: boolean) => (fromCache ? { resourceVersion: '0' } : {});

export class SpiderpoolApi {
  constructor(private readonly rest: RestClient) {}

  getPool(name: string): Promise<SpiderIPPool> {
    return this.rest.get(resourcePath(pools, name));
  }

  /** `fieldSelector` may name `spec.default`, the CRD's selectable field (Kubernetes 1.32+). */
  listPools(
    labelSelector?: string,
    fieldSelector?: string,
    { fromCache = false }: ListOptions = {},
  ): Promise<List<SpiderIPPool>> {
    return this.rest.get(resourcePath(pools), {
      query: { labelSelector, fieldSelector, ...cacheQuery(fromCache) },
    });
  }

  /** Every pool's metadata only: the names without the statuses, which hold one record per address. */
  listPoolMetadata({ fromCache = false }: ListOptions = {}): Promise<List<PartialObjectMetadata>> {
    return this.rest.get(resourcePath(pools), { accept: metadataListAccept, query: cacheQuery(fromCache) });
  }

  /** PUT /status guarded by the resourceVersion in `pool.metadata`: 409 when someone wrote in between. */
  replacePoolStatus(pool: SpiderIPPool): Promise<SpiderIPPool> {
    return this.rest.request('PUT', resourcePath(pools, pool.metadata.name ?? '', 'status'), {
      body: { apiVersion, kind: kinds.ippool.kind, ...pool },
    });
  }

  createPool(pool: SpiderIPPool): Promise<SpiderIPPool> {
    return this.rest.request('POST', resourcePath(pools), {
      body: { apiVersion, kind: kinds.ippool.kind, ...pool },
    });
  }

  replacePool(pool: SpiderIPPool): Promise<SpiderIPPool> {
    return this.rest.request('PUT', resourcePath(pools, pool.metadata.name ?? ''), {
      body: { apiVersion, kind: kinds.ippool.kind, ...pool },
    });
  }

  getEndpoint(namespace: string, name: string): Promise<SpiderEndpoint> {
    return this.rest.get(resourcePath(endpoints(namespace), name));
  }

  listEndpoints(opts: { namespace?: string; labelSelector?: string } = {}): Promise<List<SpiderEndpoint>> {
    return this.rest.get(resourcePath(endpoints(opts.namespace)), {
      query: { labelSelector: opts.labelSelector },
    });
  }

  createEndpoint(endpoint: SpiderEndpoint): Promise<SpiderEndpoint> {
    return this.rest.request('POST', resourcePath(endpoints(endpoint.metadata.namespace ?? '')), {
      body: { apiVersion, kind: kinds.endpoint.kind, ...endpoint },
    });
  }

  /** PUT guarded by the resourceVersion in `endpoint.metadata`. SpiderEndpoint has no status subresource. */
  replaceEndpoint(endpoint: SpiderEndpoint): Promise<SpiderEndpoint> {
    const { namespace, name } = endpoint.metadata;
    return this.rest.request('PUT', resourcePath(endpoints(namespace ?? ''), name ?? ''), {
      body: { apiVersion, kind: kinds.endpoint.kind, ...endpoint },
    });
  }

  /** Deletes only the object with this UID (a precondition), never a same-name successor. */
  deleteEndpoint(namespace: string, name: string, uid?: string): Promise<unknown> {
    return this.rest.request('DELETE', resourcePath(endpoints(namespace), name), {
      ...(uid ? { body: { preconditions: { uid } } } : {}),
    });
  }

  listReservedIPs({ fromCache = false }: ListOptions = {}): Promise<List<SpiderReservedIP>> {
    return this.rest.get(resourcePath(reservedIPs), { query: cacheQuery(fromCache) });
  }

  listSubnets(): Promise<List<SpiderSubnet>> {
    return this.rest.get(resourcePath(subnets));
  }

  getSubnet(name: string): Promise<SpiderSubnet> {
    return this.rest.get(resourcePath(subnets, name));
  }

  /** PUT /status guarded by the resourceVersion in `subnet.metadata`. */
  replaceSubnetStatus(subnet: SpiderSubnet): Promise<SpiderSubnet> {
    return this.rest.request('PUT', resourcePath(subnets, subnet.metadata.name ?? '', 'status'), {
      body: { apiVersion, kind: kinds.subnet.kind, metadata: subnet.metadata, status: subnet.status },
    });
  }

  /** Deletes only the pool with this UID (a precondition), never a same-name successor. */
  deletePool(name: string, uid: string): Promise<unknown> {
    return this.rest.request('DELETE', resourcePath(pools, name), { body: { preconditions: { uid } } });
  }
}
