// Garbage collection of one identity (`<namespace>/<name>`, the records' `pod` field): gathers the
// facts, lets ipam/gc decide for every pod UID that holds its records, confirms verdicts that rest on
// something being gone with fresh reads, then releases (UID-checked, pool by pool), deletes an
// endpoint whose identity is gone, counts and tells (metrics, Events). Pod, VM, StatefulSet and
// endpoint events and the periodic scan all come here, so they cannot disagree.
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { kubevirtApiVersion, kubevirtKinds } from '../../api/index.js';
import { release } from '../../ipam/allocation/release.js';
import {
  endpointVerdict,
  type GcContext,
  holderVerdict,
  type Owner,
  type OwnerFacts,
  parseOwnerKey,
  type Verdict,
} from '../../ipam/gc/verdict.js';
import type { IdentitySwitches } from '../../ipam/identity/identity.js';
import { controllerOf, isKubeVirtVMIRef } from '../../ipam/identity/owners.js';
import type { EventSink } from '../events/recorder.js';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import type { FactSource } from './facts.js';
import { KeyedLock } from './keyed-lock.js';
import type { OperatorStore } from './operator-store.js';
import type { RecordIndex } from './record-index.js';

export interface IdentityGcDeps {
  io: OperatorStore;
  facts: FactSource;
  /** The record index, synced with the pool cache. */
  index: () => RecordIndex;
  recorder: EventSink;
  metrics: OperatorMetrics;
  log: Logger;
  switches: IdentitySwitches;
  /** Asks for the holder pod to be judged again at `atMs` (a grace period ending). */
  recheck: (pod: V1Pod, atMs: number) => void;
  now?: () => number;
}

export interface OwnerOutcome {
  /** Addresses released. */
  released: number;
  endpointDeleted: boolean;
}

export const ownerKeyOf = (o: Owner) => `${o.namespace}/${o.name}`;

export { parseOwnerKey };

export class IdentityGc {
  private readonly locks = new KeyedLock();

  constructor(private readonly deps: IdentityGcDeps) {}

  /** Runs `task` while no other work on this identity runs (not re-entrant). */
  withOwner<T>(owner: Owner, task: () => Promise<T>): Promise<T> {
    return this.locks.run(ownerKeyOf(owner), task);
  }

  /** Judges and collects one identity; `cause` says who asked (for logs). */
  reconcileOwner(owner: Owner, cause: string): Promise<OwnerOutcome> {
    return this.locks.run(ownerKeyOf(owner), () => this.collect(owner, cause));
  }

  /**
   * An endpoint being deleted (by a user, or by the garbage collector after its Pod): its current
   * holder's records go if the rules say the holder's addresses may go; a live holder, or a static
   * identity that is still valid, keeps them (the records stay attributed to it). Resolves when the
   * finalizer may be removed.
   */
  finalizeEndpoint(owner: Owner, holderUid: string): Promise<number> {
    return this.locks.run(ownerKeyOf(owner), async () => {
      const key = ownerKeyOf(owner);
      const records = this.deps
        .index()
        .byOwner(key)
        .filter((r) => r.podUid === holderUid);
      let facts = this.deps.facts.cached(owner, [holderUid]);
      let verdict = holderVerdict(owner, holderUid, facts, this.context());
      if (verdict.release && verdict.confirm) {
        facts = await this.deps.facts.live(owner);
        verdict = holderVerdict(owner, holderUid, facts, this.context());
      }
      if (!verdict.release) {
        this.deps.log.info('endpoint deleted; its holder keeps the addresses', {
          controller: 'endpoints',
          object: key,
          podUid: holderUid,
          reason: verdict.reason,
        });
        return 0;
      }
      const pools = new Set(records.map((r) => r.pool));
      for (const entry of facts.endpoint?.status?.current?.ips ?? [])
        for (const pool of [entry.ipv4Pool, entry.ipv6Pool]) if (pool) pools.add(pool);
      return this.releaseHolder(owner, holderUid, [...pools], verdict, facts, 'endpoint deleted');
    });
  }

  private context(): GcContext {
    return { switches: this.deps.switches, nowMs: (this.deps.now ?? Date.now)() };
  }

  private async collect(owner: Owner, cause: string): Promise<OwnerOutcome> {
    const key = ownerKeyOf(owner);
    const records = this.deps.index().byOwner(key);
    const cached = this.deps.facts.cached(
      owner,
      records.map((r) => r.podUid),
    );
    const holderOf = (f: OwnerFacts) =>
      f.endpoint && !f.endpoint.metadata.deletionTimestamp ? f.endpoint.status?.current?.uid : undefined;
    const uids = [
      ...new Set([...records.map((r) => r.podUid), holderOf(cached)].filter((u): u is string => !!u)),
    ];
    if (uids.length === 0) return { released: 0, endpointDeleted: false };

    let facts = cached;
    let ctx = this.context();
    let verdicts = uids.map((uid) => ({ uid, verdict: holderVerdict(owner, uid, facts, ctx) }));
    let endpoint = endpointVerdict(owner, facts, ctx);
    const unsure =
      verdicts.some((v) => v.verdict.release && v.verdict.confirm) || (endpoint.delete && endpoint.confirm);
    if (unsure) {
      // A cache may lag: what it says is gone is read again before anything is released for it.
      facts = await this.deps.facts.live(owner);
      ctx = this.context();
      verdicts = uids.map((uid) => ({ uid, verdict: holderVerdict(owner, uid, facts, ctx) }));
      endpoint = endpointVerdict(owner, facts, ctx);
    }

    let released = 0;
    for (const { uid, verdict } of verdicts) {
      if (!verdict.release) {
        const holder = facts.podByUid(uid);
        const fields = { controller: 'gc', object: key, podUid: uid, cause, reason: verdict.reason };
        if (verdict.recheckAtMs !== undefined && holder) {
          this.deps.recheck(holder, verdict.recheckAtMs);
          this.deps.log.info('addresses kept until the grace period ends', fields);
        } else this.deps.log.debug('addresses kept', fields);
        continue;
      }
      const pools = new Set(records.filter((r) => r.podUid === uid).map((r) => r.pool));
      const ep = facts.endpoint;
      if (ep?.status?.current?.uid === uid)
        for (const entry of ep.status.current.ips)
          for (const pool of [entry.ipv4Pool, entry.ipv6Pool]) if (pool) pools.add(pool);
      released += await this.releaseHolder(owner, uid, [...pools], verdict, facts, cause);
    }

    let endpointDeleted = false;
    const ep = facts.endpoint;
    if (endpoint.delete && ep?.metadata.uid) {
      await this.deps.io.deleteEndpoint(owner.namespace, owner.name, ep.metadata.uid);
      endpointDeleted = true;
      this.deps.log.info('endpoint deleted: its identity is gone', {
        controller: 'gc',
        object: key,
        cause,
        reason: endpoint.reason,
      });
    }
    return { released, endpointDeleted };
  }

  private async releaseHolder(
    owner: Owner,
    uid: string,
    pools: string[],
    verdict: Extract<Verdict, { release: true }>,
    facts: OwnerFacts,
    cause: string,
  ): Promise<number> {
    const key = ownerKeyOf(owner);
    const freed: string[] = [];
    for (const pool of pools) {
      try {
        const batch = await this.deps.io.changePool(pool, `release ${key}`, (p) =>
          release(p, [{ owner: key, podUid: uid }]),
        );
        for (const r of batch?.released[0] ?? []) freed.push(`${r.ip} from pool ${pool}`);
      } catch (err) {
        this.deps.metrics.gcFailures.inc({ reason: verdict.gcReason });
        throw err;
      }
    }
    if (freed.length === 0) return 0;
    this.deps.metrics.gcReclaims.inc({ reason: verdict.gcReason }, freed.length);
    this.deps.log.info('addresses released', {
      controller: 'gc',
      object: key,
      podUid: uid,
      cause,
      reason: verdict.gcReason,
      detail: verdict.reason,
      addresses: freed,
    });
    const message = `Released ${freed.join(', ')}: ${verdict.reason}`;
    for (const target of this.eventTargets(owner, uid, facts))
      void this.deps.recorder.record(target, 'Normal', 'AddressReleased', message);
    return freed.length;
  }

  /** The holder pod (or, gone, a reference to it) and, for a VM, the VM. */
  private eventTargets(owner: Owner, uid: string, facts: OwnerFacts): KubernetesObject[] {
    const holder = facts.podByUid(uid);
    const vm =
      this.deps.switches.enableKubevirtStaticIP &&
      (facts.endpoint?.status?.ownerControllerType === 'VirtualMachineInstance' ||
        facts.vm !== undefined ||
        facts.vmi !== undefined ||
        isKubeVirtVMIRef(controllerOf(holder?.metadata)));
    const out: KubernetesObject[] = [];
    if (holder) out.push({ apiVersion: 'v1', kind: 'Pod', metadata: holder.metadata });
    else if (!vm)
      out.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: owner.name, namespace: owner.namespace, uid },
      });
    if (vm)
      out.push({
        apiVersion: kubevirtApiVersion,
        kind: kubevirtKinds.vm.kind,
        metadata: facts.vm?.metadata ?? { name: owner.name, namespace: owner.namespace },
      });
    return out;
  }
}
