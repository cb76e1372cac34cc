// SpiderSubnet auto-pools (conf.yml enableSpiderSubnet and enableAutoPoolForApplication): an
// application whose pod template names a SpiderSubnet gets one SpiderIPPool per NIC and family,
// carved from the subnet and sized to its replicas; the pool follows the application's scale and goes
// with it unless `ipam.spidernet.io/ippool-reclaim` is false. A third-party controller's pool is made
// from its pods' annotations, at the fixed size they give. ipam/autopool decides (names, labels,
// sizes, which addresses); this controller reads fresh objects and writes in an order that never lets
// two pools share an address: the subnet's controlledIPPools first takes the new addresses, then the
// pool changes (guarded by its resourceVersion, so a pod's allocation in between makes it retry),
// then the subnet gives the dropped addresses back.
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import {
  annotations,
  controllerReference,
  finalizer,
  kinds,
  labels,
  type SpiderIPPool,
} from '../../api/index.js';
import {
  type Application,
  applicationKey,
  applicationOfPool,
  autoPoolAffinity,
  autoPoolLabels,
  autoPoolName,
  ipVersionLabel,
  isThirdPartyController,
} from '../../ipam/autopool/application.js';
import { controlledCount, decodeControlled, encodeControlled } from '../../ipam/autopool/carve.js';
import { planSlot, withoutPool } from '../../ipam/autopool/plan.js';
import {
  type AutoPoolSlot,
  desiredPoolSize,
  fixedPoolSize,
  namesSubnet,
  type PoolSize,
  parseAutoPoolRequest,
} from '../../ipam/autopool/request.js';
import {
  applicationReplicas,
  isIntermediateController,
  templateAnnotations,
  type Workload,
} from '../../ipam/autopool/workload.js';
import { IpamError } from '../../ipam/errors.js';
import { controllerOf } from '../../ipam/identity/owners.js';
import type { EventRecorder } from '../events/recorder.js';
import { type ResourceEvent, ResourceEventType } from '../framework/events.js';
import type { Lister } from '../framework/operator.js';
import type { Logger } from '../observability/log.js';
import type { AutoPoolStore } from './auto-pool-io.js';
import { KeyedLock } from './keyed-lock.js';

export interface AutoPoolDeps {
  io: AutoPoolStore;
  /** The pools cache (finding an application's pools, the other pools of a subnet's CIDR). */
  pools: () => Lister | undefined;
  /** The cache of an application kind, when it has listed (undefined: not known yet). */
  applications: (kind: string) => Lister | undefined;
  /** Re-runs the application's reconcile (its pool changed: records freed, pool gone). */
  requeue: (kind: string, namespace: string, name: string) => void;
  recorder: EventRecorder;
  log: Logger;
  defaultSize: PoolSize;
}

const controller = 'auto-pools';

export class AutoPoolController {
  /** Third-party applications, one at a time each: their pods' events come in parallel. */
  private readonly thirdParty = new KeyedLock();

  constructor(private readonly deps: AutoPoolDeps) {}

  private poolsOf(app: Pick<Application, 'kind' | 'namespace' | 'name'>): SpiderIPPool[] {
    return ((this.deps.pools()?.list() ?? []) as SpiderIPPool[]).filter((p) => {
      const owner = applicationOfPool(p.metadata.labels);
      return owner?.kind === app.kind && owner.namespace === app.namespace && owner.name === app.name;
    });
  }

  /** An application's event: its pools made, resized, relabelled, or (it is gone) deleted. */
  async reconcileApplication(
    event: ResourceEvent,
    kind: { apiVersion: string; kind: string },
  ): Promise<void> {
    const object = event.object as Workload & KubernetesObject;
    const md = object.metadata ?? {};
    const app: Application = {
      ...kind,
      namespace: md.namespace ?? '',
      name: md.name ?? '',
      uid: md.uid ?? '',
    };
    if (event.type === ResourceEventType.Deleted) {
      await this.reclaim(app, 'the application was deleted');
      return;
    }
    if (md.deletionTimestamp || isIntermediateController(kind.kind, object)) return;
    let request: ReturnType<typeof parseAutoPoolRequest>;
    try {
      request = parseAutoPoolRequest(templateAnnotations(object), this.deps.defaultSize);
    } catch (error) {
      if (!(error instanceof IpamError)) throw error;
      await this.warn(object, 'AutoPoolInvalid', `pod template: ${error.message}`);
      return;
    }
    if (!request) return;
    const desired = desiredPoolSize(request.size, applicationReplicas(kind, object));
    const sizeText =
      templateAnnotations(object)?.[annotations.ippoolIPNumber] ?? `+${this.deps.defaultSize.n}`;
    for (const slot of request.slots) {
      try {
        await this.reconcileSlot(app, slot, desired, request.reclaim, sizeText, object);
      } catch (error) {
        if (!(error instanceof IpamError)) throw error;
        await this.warn(object, 'AutoPoolFailed', error.message);
      }
    }
  }

  /**
   * A pod's event, for the applications no watch of the operator covers: a third-party controller
   * (any owner of another API, as Spiderpool takes them) whose pod names a SpiderSubnet gets its
   * pools from the pod's annotations, with the fixed size Spiderpool requires of them; a pod of one
   * that goes makes the operator ask whether its controller is gone too.
   */
  async reconcilePod(event: ResourceEvent): Promise<void> {
    const pod = event.object as V1Pod;
    const md = pod.metadata ?? {};
    const ref = controllerOf(md);
    if (!ref || !isThirdPartyController(ref) || !namesSubnet(md.annotations)) return;
    const app: Application = {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      namespace: md.namespace ?? '',
      name: ref.name,
      uid: ref.uid ?? '',
    };
    await this.thirdParty.run(applicationKey(app), () => this.reconcileThirdParty(event, pod, app));
  }

  private async reconcileThirdParty(event: ResourceEvent, pod: V1Pod, app: Application): Promise<void> {
    const md = pod.metadata ?? {};
    if (event.type === ResourceEventType.Deleted || md.deletionTimestamp) {
      await this.reclaimIfGone(app);
      return;
    }
    let request: ReturnType<typeof parseAutoPoolRequest>;
    let size: PoolSize;
    try {
      request = parseAutoPoolRequest(md.annotations, this.deps.defaultSize);
      size = fixedPoolSize(md.annotations, `${app.kind} ${app.namespace}/${app.name}`);
    } catch (error) {
      if (!(error instanceof IpamError)) throw error;
      await this.warn(pod, 'AutoPoolInvalid', error.message);
      return;
    }
    if (!request) return;
    const sizeText = String(size.n);
    for (const slot of request.slots) {
      // Every pod of the application says the same: once its pool is there as asked, nothing to do.
      const made = this.poolsOf(app).some((p) => {
        const l = p.metadata.labels ?? {};
        return (
          l[labels.interface] === slot.nic &&
          l[labels.ipVersion] === ipVersionLabel(slot.family) &&
          l[labels.ownerApplicationUID] === app.uid &&
          l[labels.ippoolReclaim] === String(request.reclaim) &&
          p.metadata.annotations?.[annotations.ippoolIPNumber] === sizeText
        );
      });
      if (made) continue;
      try {
        await this.reconcileSlot(app, slot, size.n, request.reclaim, sizeText, pod);
      } catch (error) {
        if (!(error instanceof IpamError)) throw error;
        await this.warn(pod, 'AutoPoolFailed', error.message);
      }
    }
  }

  /** A third-party application's pools are reclaimed once the application (that incarnation) is gone. */
  private async reclaimIfGone(app: Application): Promise<void> {
    const found = await this.deps.io.application(app);
    if (found && (!app.uid || found.metadata?.uid === app.uid)) return;
    await this.reclaim(app, 'the third-party application is gone');
  }

  private async warn(object: KubernetesObject, reason: string, message: string): Promise<void> {
    this.deps.log.warn(message, {
      controller,
      object: `${object.metadata?.namespace}/${object.metadata?.name}`,
      reason,
    });
    await this.deps.recorder.record(object, 'Warning', reason, message).catch(() => undefined);
  }

  private async reconcileSlot(
    app: Application,
    slot: AutoPoolSlot,
    desired: number,
    reclaim: boolean,
    sizeText: string,
    object: KubernetesObject,
  ): Promise<void> {
    const { io } = this.deps;
    // The application's pool for this NIC and family, whatever UID made it (one kept with reclaim
    // false is taken over by a new application of the same name, as in Spiderpool).
    const cached = this.poolsOf(app).find(
      (p) =>
        p.metadata.labels?.[labels.interface] === slot.nic &&
        p.metadata.labels?.[labels.ipVersion] === ipVersionLabel(slot.family),
    );
    const name = cached?.metadata.name ?? autoPoolName(app, slot.family, slot.nic);
    const pool = await io.pool(name);
    if (pool?.metadata.deletionTimestamp) return; // its Deleted event re-runs this
    const subnet = await io.subnet(slot.subnet);
    if (!subnet || subnet.metadata.deletionTimestamp) {
      await this.warn(
        object,
        'AutoPoolFailed',
        `SpiderSubnet ${slot.subnet} (${slot.nic}, IPv${slot.family}) ${subnet ? 'is terminating' : 'does not exist'}; no auto-pool is made from it`,
      );
      return;
    }
    const others = ((this.deps.pools()?.list() ?? []) as SpiderIPPool[]).filter(
      (p) => p.metadata.name !== name,
    );
    const application = applicationKey(app);
    const planOf = (s: typeof subnet) =>
      planSlot({ subnet: s, poolName: name, ...(pool ? { pool } : {}), others, desired, application });
    const first = planOf(subnet);
    if (first.family !== slot.family) {
      await this.warn(
        object,
        'AutoPoolFailed',
        `SpiderSubnet ${slot.subnet} is not an IPv${slot.family} subnet`,
      );
      return;
    }
    // 1. The subnet gives the pool its new addresses (and still counts those it may give back).
    const plan = await io.changeSubnetStatus(slot.subnet, `reserve addresses for auto-pool ${name}`, (s) => {
      const p = planOf(s);
      const before = decodeControlled(s.metadata.name ?? '', s.status?.controlledIPPools);
      if (encodeControlled(before) === encodeControlled(p.reserve)) return { result: p };
      return { status: this.subnetStatus(s.status, p.reserve, p.family), result: p };
    });
    if (!plan) return;
    if (plan.short > 0)
      await this.warn(
        object,
        'AutoPoolShort',
        `SpiderSubnet ${slot.subnet} has ${plan.short} free addresses too few for auto-pool ${name} (${desired} wanted)`,
      );
    // 2. The pool takes them (its spec.ips), labelled for this application.
    const wantLabels = autoPoolLabels(app, slot.subnet, slot.nic, slot.family, reclaim);
    if (!pool) {
      await io.createPool({
        metadata: {
          name,
          labels: wantLabels,
          annotations: { [annotations.ippoolIPNumber]: sizeText },
          finalizers: [finalizer],
          ownerReferences: [controllerReference(kinds.subnet.kind, subnet)],
        },
        spec: {
          ipVersion: slot.family,
          subnet: subnet.spec.subnet,
          ips: plan.ips,
          ...(subnet.spec.gateway ? { gateway: subnet.spec.gateway } : {}),
          ...(subnet.spec.routes ? { routes: subnet.spec.routes } : {}),
          podAffinity: autoPoolAffinity(app),
        },
      });
      this.deps.log.info('auto-pool created', { controller, pool: name, ips: plan.ips, application });
    } else {
      const relabel = Object.entries(wantLabels).some(([k, v]) => pool.metadata.labels?.[k] !== v);
      const resize =
        JSON.stringify(pool.spec.ips ?? []) !== JSON.stringify(plan.ips) ||
        (pool.spec.excludeIPs?.length ?? 0) > 0;
      if (relabel || resize) {
        const { excludeIPs: _dropped, ...spec } = pool.spec;
        await io.replacePool({
          ...pool,
          metadata: {
            ...pool.metadata,
            labels: { ...pool.metadata.labels, ...wantLabels },
            annotations: { ...pool.metadata.annotations, [annotations.ippoolIPNumber]: sizeText },
          },
          spec: { ...spec, ips: plan.ips },
        });
        this.deps.log.info('auto-pool resized', {
          controller,
          pool: name,
          ips: plan.ips,
          held: plan.held,
          application,
        });
      }
    }
    // 3. The subnet takes back what the pool no longer has.
    await io.changeSubnetStatus(slot.subnet, `return addresses of auto-pool ${name}`, (s) => {
      const controlled = decodeControlled(s.metadata.name ?? '', s.status?.controlledIPPools);
      const next = { ...controlled, [name]: plan.final[name] as { ips: string[] } };
      if (encodeControlled(controlled) === encodeControlled(next)) return { result: undefined };
      return { status: this.subnetStatus(s.status, next, plan.family), result: undefined };
    });
  }

  private subnetStatus(
    status: Record<string, unknown> | undefined,
    controlled: ReturnType<typeof decodeControlled>,
    family: 4 | 6,
  ) {
    const { controlledIPPools: _old, ...rest } = status ?? {};
    const text = encodeControlled(controlled);
    return {
      ...rest,
      ...(text ? { controlledIPPools: text } : {}),
      allocatedIPCount: controlledCount(family, controlled),
    };
  }

  /** The application is gone: its pools that may be reclaimed are deleted (they stay while pods hold addresses). */
  private async reclaim(app: Application, why: string): Promise<void> {
    for (const pool of this.poolsOf(app)) {
      const owner = applicationOfPool(pool.metadata.labels);
      if (!owner || (app.uid && owner.uid !== app.uid) || pool.metadata.deletionTimestamp) continue;
      if (!owner.reclaim) {
        this.deps.log.info('auto-pool kept (ippool-reclaim false)', {
          controller,
          pool: pool.metadata.name,
          why,
        });
        continue;
      }
      this.deps.log.info('deleting auto-pool', { controller, pool: pool.metadata.name, why });
      await this.deps.io.deletePool(pool.metadata.name ?? '', pool.metadata.uid ?? '');
    }
  }

  /**
   * A pool's event. An auto-pool that is gone leaves its subnet's books; one whose application is
   * gone (an event missed while no operator ran) is reclaimed; otherwise its application is looked at
   * again (records were freed, so a shrink held back may now go on).
   */
  async reconcilePool(event: ResourceEvent): Promise<void> {
    const pool = event.object as SpiderIPPool;
    const owner = applicationOfPool(pool.metadata.labels);
    const subnetName = pool.metadata.labels?.[labels.ownerSpiderSubnet];
    const name = pool.metadata.name ?? '';
    if (!owner || !subnetName) return;
    if (event.type === ResourceEventType.Deleted) {
      await this.deps.io.changeSubnetStatus(subnetName, `forget auto-pool ${name}`, (s) => {
        const controlled = decodeControlled(s.metadata.name ?? '', s.status?.controlledIPPools);
        if (!(name in controlled)) return { result: undefined };
        const family = pool.spec.ipVersion === 6 ? 6 : 4;
        return {
          status: this.subnetStatus(s.status, withoutPool(controlled, name), family),
          result: undefined,
        };
      });
      this.deps.requeue(owner.kind, owner.namespace, owner.name);
      return;
    }
    if (isThirdPartyController(owner)) {
      await this.reclaimIfGone(owner);
      return;
    }
    const cache = this.deps.applications(owner.kind);
    if (!cache) return;
    const present = cache.list().some((o) => {
      const md = (o as KubernetesObject).metadata;
      return md?.namespace === owner.namespace && md.name === owner.name;
    });
    if (!present) await this.reclaim(owner, 'its application is gone');
    else this.deps.requeue(owner.kind, owner.namespace, owner.name);
  }
}
