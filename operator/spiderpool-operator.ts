// The spiderpool-ts operator: the hardened dot-i operator with its controllers. Each watched
// resource is declared in init() with its handler; the controllers gather facts from the caches,
// let ipam/ decide, and write through kube/-style guarded calls.

import {
  group,
  ipamClaimGroup,
  ipamClaimKind,
  ipamClaimVersion,
  kinds,
  kubevirtApiVersion,
  kubevirtGroup,
  kubevirtKinds,
  kubevirtVersion,
  version,
} from '../api/index.js';
import { installDefaults } from '../api/install/names.js';
import { slimPod } from '../ipam/gc/pod.js';
import { controllingMultusConfig, nadGroup, nadPlural, nadVersion } from '../multus/ownership.js';
import type { IpamSettings } from './config/index.js';
import { AutoPoolIO } from './controllers/auto-pool-io.js';
import { AutoPoolController } from './controllers/auto-pools.js';
import { ClusterIO } from './controllers/cluster-io.js';
import { CoordinatorStatusController } from './controllers/coordinator-status.js';
import { EndpointController } from './controllers/endpoints.js';
import { type Caches, FactSource } from './controllers/facts.js';
import { IdentityGc } from './controllers/identity-gc.js';
import { IPAMClaimController } from './controllers/ipamclaims.js';
import { KubeVirtController } from './controllers/kubevirt.js';
import { MultusConfigController } from './controllers/multus-configs.js';
import { NoAddressExplainer } from './controllers/no-address.js';
import { PodController } from './controllers/pods.js';
import { PoolController, type PoolWrites } from './controllers/pools.js';
import { RecordIndex } from './controllers/record-index.js';
import { FullScan } from './controllers/scan.js';
import { StatefulSetController } from './controllers/statefulsets.js';
import { SubnetController } from './controllers/subnets.js';
import {
  admissionRegistration,
  WebhookConfigurationsController,
  type WebhookTarget,
  webhookConfigurationPlurals,
  webhookConfigurationSelector,
} from './controllers/webhook-configurations.js';
import type { EventRecorder } from './events/recorder.js';
import { type ResourceEvent, ResourceEventType } from './framework/events.js';
import {
  type FrameworkOptions,
  HardenedOperator,
  type Lister,
  type WatchOptions,
} from './framework/operator.js';

export interface SpiderpoolOperatorOptions extends FrameworkOptions {
  ipam: IpamSettings;
  recorder: EventRecorder;
  /** What the webhook configurations must point at; undefined until the certificate is loaded. */
  webhookTarget: () => WebhookTarget | undefined;
  /** Namespace of the installation (Multus's namespace for bare multusName entries). */
  installNamespace?: string;
  /** A bound pod without addresses this long after creation gets an explaining Event (default 30 s). */
  noAddressAfterMs?: number;
}

/** Controller names, as they appear in logs, metrics and resync(). */
export const controllerNames = {
  pools: 'pools',
  endpoints: 'endpoints',
  subnets: 'subnets',
  reservedIPs: 'reservedips',
  pods: 'pods',
  statefulSets: 'statefulsets',
  vms: 'virtualmachines',
  vmis: 'virtualmachineinstances',
  migrations: 'virtualmachineinstancemigrations',
  scan: 'gc-scan',
  multusConfigs: 'multusconfigs',
  nads: 'networkattachmentdefinitions',
  coordinator: 'spidercoordinator',
  ipamClaims: 'ipamclaims',
  deployments: 'deployments',
  replicaSets: 'replicasets',
  daemonSets: 'daemonsets',
  jobs: 'jobs',
  cronJobs: 'cronjobs',
} as const;

/** The applications that get SpiderSubnet auto-pools, by kind: their API and watch name. */
const applicationWatches = {
  Deployment: { group: 'apps', version: 'v1', plural: 'deployments', name: controllerNames.deployments },
  ReplicaSet: { group: 'apps', version: 'v1', plural: 'replicasets', name: controllerNames.replicaSets },
  DaemonSet: { group: 'apps', version: 'v1', plural: 'daemonsets', name: controllerNames.daemonSets },
  Job: { group: 'batch', version: 'v1', plural: 'jobs', name: controllerNames.jobs },
  CronJob: { group: 'batch', version: 'v1', plural: 'cronjobs', name: controllerNames.cronJobs },
  StatefulSet: { group: 'apps', version: 'v1', plural: 'statefulsets', name: controllerNames.statefulSets },
  VirtualMachine: {
    group: kubevirtGroup,
    version: kubevirtVersion,
    plural: kubevirtKinds.vm.plural,
    name: controllerNames.vms,
  },
} as const;

/** One watched resource: its API, the handler of its events, and the framework's options. */
interface Watch {
  group: string;
  version: string;
  plural: string;
  handle: (event: ResourceEvent) => Promise<void>;
  options: WatchOptions;
  /** False: this installation does not watch it (a switch is off). */
  when?: boolean;
}

type SharedParts = ReturnType<SpiderpoolOperator['sharedParts']>;

const core = { group: '', version: 'v1' };
const apps = { group: 'apps', version: 'v1' };
const kubevirt = { group: kubevirtGroup, version: kubevirtVersion };

export class SpiderpoolOperator extends HardenedOperator {
  protected readonly ipam: IpamSettings;
  protected readonly recorder: EventRecorder;
  private readonly webhookConfigurations: WebhookConfigurationsController;
  private readonly index = new RecordIndex();
  private readonly coordinatorStatus = new CoordinatorStatusController(this.rest, (what) =>
    this.assertLeading(what),
  );
  private readonly opts: SpiderpoolOperatorOptions;

  constructor(opts: SpiderpoolOperatorOptions) {
    super(opts);
    this.opts = opts;
    this.ipam = opts.ipam;
    this.recorder = opts.recorder;
    this.webhookConfigurations = new WebhookConfigurationsController(
      this.rest,
      opts.webhookTarget,
      (what) => this.assertLeading(what),
      this.log.child({ controller: 'webhook-configurations' }),
    );
  }

  private caches(): Caches & { pools?: Lister; reservedIPs?: Lister; migrations?: Lister } {
    const kv = this.ipam.enableKubevirtStaticIP;
    const synced = (plural: string) => this.isSynced(kubevirt.group, kubevirt.version, plural);
    return {
      pools: this.lister(group, version, kinds.ippool.plural),
      reservedIPs: this.lister(group, version, kinds.reservedip.plural),
      endpoints: this.lister(group, version, kinds.endpoint.plural),
      pods: this.lister(core.group, core.version, 'pods'),
      statefulSets: this.lister(apps.group, apps.version, 'statefulsets'),
      // A KubeVirt cache that has not listed yet says nothing; fresh reads decide then.
      vmis:
        kv && synced(kubevirtKinds.vmi.plural)
          ? this.lister(kubevirt.group, kubevirt.version, kubevirtKinds.vmi.plural)
          : undefined,
      vms:
        kv && synced(kubevirtKinds.vm.plural)
          ? this.lister(kubevirt.group, kubevirt.version, kubevirtKinds.vm.plural)
          : undefined,
      migrations: kv ? this.lister(kubevirt.group, kubevirt.version, kubevirtKinds.vmim.plural) : undefined,
      claims:
        this.ipam.enableIPAMClaim && this.isSynced(ipamClaimGroup, ipamClaimVersion, ipamClaimKind.plural)
          ? this.lister(ipamClaimGroup, ipamClaimVersion, ipamClaimKind.plural)
          : undefined,
    };
  }

  private syncedIndex(): RecordIndex {
    this.index.sync(this.caches().pools?.list() ?? []);
    return this.index;
  }

  /** The shared pieces every controller uses: guarded writes, the identity GC, re-check scheduling. */
  private sharedParts() {
    const settings = this.ipam;
    const log = this.log;
    const io = new ClusterIO(this.rest, (what) => this.assertLeading(what));
    const caches = () => this.caches();
    const index = () => this.syncedIndex();
    const writes: PoolWrites = {
      setFinalizers: (meta, finalizers) => this.setResourceFinalizers(meta, finalizers),
      patchStatus: (meta, status) => this.patchResourceStatus(meta, status),
    };
    const recheckPod = (pod: { metadata?: { namespace?: string; name?: string } }, atMs: number) =>
      this.enqueueAfter(
        controllerNames.pods,
        `${pod.metadata?.namespace}/${pod.metadata?.name}`,
        atMs - Date.now() + 50,
      );
    const gc = new IdentityGc({
      io,
      facts: new FactSource(caches, io, settings),
      index,
      recorder: this.recorder,
      metrics: this.metrics,
      log,
      switches: settings,
      recheck: recheckPod,
    });
    return { settings, log, io, caches, index, writes, recheckPod, gc };
  }

  /** Every watch of the operator with its handler, in the order they start; `when` false skips one. */
  private watches(parts: SharedParts): Watch[] {
    const { settings, log, io, caches, index, writes, recheckPod, gc } = parts;
    const pools = new PoolController(writes, this.metrics, log, () => caches().reservedIPs);
    const endpoints = new EndpointController({
      gc,
      setFinalizers: writes.setFinalizers,
      recorder: this.recorder,
      caches,
      retryLater: (ep, delayMs) =>
        this.enqueueAfter(controllerNames.endpoints, `${ep.metadata.namespace}/${ep.metadata.name}`, delayMs),
      log,
    });
    const subnets = new SubnetController(writes, () => caches().pools, log);
    const kv = settings.enableKubevirtStaticIP
      ? new KubeVirtController({
          gc,
          io,
          index,
          caches,
          recorder: this.recorder,
          log,
          gcEnabled: settings.gcEnabled,
        })
      : undefined;
    const explainer = new NoAddressExplainer({
      io,
      caches,
      recorder: this.recorder,
      settings,
      multusNamespace: this.opts.installNamespace ?? installDefaults.namespace,
      afterMs: this.opts.noAddressAfterMs ?? 30_000,
      recheck: recheckPod,
      log,
    });
    const podController = new PodController({
      gc,
      index,
      explainer,
      settings,
      ...(kv ? { migration: (ns: string, vmi: string) => kv.migration(ns, vmi) } : {}),
    });
    const sts = new StatefulSetController(gc, index, caches);
    // A pod that was created, given an address and deleted while the pod watch was down (an API
    // server restart) never reaches the cache, so no event judges its records: when the pod or the
    // pool watch had to list again instead of resuming, the full scan runs at once, not at its next
    // interval.
    const scanAfterGap = settings.gcEnabled ? () => this.runSoon(controllerNames.scan) : undefined;
    const claims = new IPAMClaimController(gc, settings.gcEnabled);
    // SpiderSubnet auto-pools: both of conf.yml's switches on.
    const autoPoolsOn = settings.enableSpiderSubnet && settings.enableAutoPoolForApplication;
    const autoPools = autoPoolsOn
      ? new AutoPoolController({
          io: new AutoPoolIO(this.rest, (what) => this.assertLeading(what)),
          pools: () => caches().pools,
          applications: (kind) => {
            const w = applicationWatches[kind as keyof typeof applicationWatches];
            return w && this.isSynced(w.group, w.version, w.plural)
              ? this.lister(w.group, w.version, w.plural)
              : undefined;
          },
          requeue: (kind, namespace, name) => {
            const w = applicationWatches[kind as keyof typeof applicationWatches];
            if (w) this.enqueueAfter(w.name, `${namespace}/${name}`, 0);
          },
          recorder: this.recorder,
          log,
          defaultSize: { flexible: true, n: settings.clusterSubnetDefaultFlexibleIPNumber },
        })
      : undefined;
    const applicationWatch = (kind: 'Deployment' | 'ReplicaSet' | 'DaemonSet' | 'Job' | 'CronJob'): Watch => {
      const w = applicationWatches[kind];
      return {
        group: w.group,
        version: w.version,
        plural: w.plural,
        handle: async (e) =>
          autoPools?.reconcileApplication(e, { apiVersion: `${w.group}/${w.version}`, kind }),
        options: { name: w.name, kind },
        when: autoPools !== undefined,
      };
    };
    // SpiderMultusConfig -> NetworkAttachmentDefinition (multus/render.ts decides, the controller writes).
    const multusConfigs = new MultusConfigController({
      rest: this.rest,
      recorder: this.recorder,
      log,
      guard: (what) => this.assertLeading(what),
    });
    const ours = { group, version };
    const kubevirtApi = { group: kubevirt.group, version: kubevirt.version };
    // KubeVirt may not be installed (yet): its watches wait for its resources quietly (optional).
    const kubevirtWatch = (
      k: { plural: string; kind: string },
      name: string,
      handle: Watch['handle'],
    ): Watch => ({
      ...kubevirtApi,
      plural: k.plural,
      handle,
      options: { name, kind: k.kind, optional: true },
      when: kv !== undefined,
    });
    return [
      ...webhookConfigurationPlurals.map(
        (plural): Watch => ({
          ...admissionRegistration,
          plural,
          handle: (e) => this.webhookConfigurations.reconcile(e),
          options: { name: plural, fieldSelector: webhookConfigurationSelector },
        }),
      ),
      {
        ...ours,
        plural: kinds.ippool.plural,
        handle: async (e) => {
          await pools.reconcile(e);
          if (e.type === ResourceEventType.Deleted) this.resync([controllerNames.subnets]);
          await autoPools?.reconcilePool(e);
        },
        options: { name: controllerNames.pools, kind: kinds.ippool.kind, onRelist: scanAfterGap },
      },
      {
        ...ours,
        plural: kinds.endpoint.plural,
        handle: (e) => endpoints.reconcile(e),
        options: { name: controllerNames.endpoints, kind: kinds.endpoint.kind },
      },
      {
        ...ours,
        plural: kinds.subnet.plural,
        handle: (e) => subnets.reconcile(e),
        options: { name: controllerNames.subnets, kind: kinds.subnet.kind },
      },
      {
        ...ours,
        plural: kinds.multusConfig.plural,
        handle: (e) => multusConfigs.reconcile(e),
        options: { name: controllerNames.multusConfigs, kind: kinds.multusConfig.kind },
      },
      // A NAD a SpiderMultusConfig controls, edited or deleted by hand, is rendered again from its
      // SpiderMultusConfig. A NAD without such a controller is not ours and is never touched. The
      // NAD CRD may come later than the operator (Multus installed afterwards): optional.
      {
        group: nadGroup,
        version: nadVersion,
        plural: nadPlural,
        handle: async (e) => {
          const owner = controllingMultusConfig(e.object);
          const namespace = e.object.metadata?.namespace;
          if (owner && namespace)
            this.enqueueAfter(controllerNames.multusConfigs, `${namespace}/${owner}`, 0);
        },
        options: { name: controllerNames.nads, kind: 'NetworkAttachmentDefinition', optional: true },
      },
      {
        ...ours,
        plural: kinds.coordinator.plural,
        handle: () => this.coordinatorStatus.sync(),
        options: { name: controllerNames.coordinator, kind: kinds.coordinator.kind },
      },
      // Reserved IPs change what pools may hand out: the free gauges follow.
      {
        ...ours,
        plural: kinds.reservedip.plural,
        handle: async () => this.resync([controllerNames.pools]),
        options: { name: controllerNames.reservedIPs, kind: kinds.reservedip.kind },
      },
      {
        ...kubevirtWatch(kubevirtKinds.vm, controllerNames.vms, async (e) => {
          await kv?.reconcileVM(e);
          await autoPools?.reconcileApplication(e, {
            apiVersion: kubevirtApiVersion,
            kind: kubevirtKinds.vm.kind,
          });
        }),
        when: kv !== undefined || autoPools !== undefined,
      },
      kubevirtWatch(kubevirtKinds.vmi, controllerNames.vmis, async (e) => kv?.reconcileVMI(e)),
      kubevirtWatch(kubevirtKinds.vmim, controllerNames.migrations, async (e) => kv?.reconcileMigration(e)),
      {
        ...core,
        plural: 'pods',
        handle: async (e) => {
          await podController.reconcile(e);
          // Third-party controllers' auto-pools: their pods are how the operator learns of them.
          await autoPools?.reconcilePod(e);
        },
        options: {
          name: controllerNames.pods,
          kind: 'Pod',
          transform: (o) => slimPod(o),
          onRelist: scanAfterGap,
        },
      },
      {
        ...apps,
        plural: 'statefulsets',
        handle: async (e) => {
          if (settings.enableStatefulSet && settings.gcEnabled) await sts.reconcile(e);
          await autoPools?.reconcileApplication(e, { apiVersion: 'apps/v1', kind: 'StatefulSet' });
        },
        options: { name: controllerNames.statefulSets, kind: 'StatefulSet' },
        when: (settings.enableStatefulSet && settings.gcEnabled) || autoPools !== undefined,
      },
      // The IPAMClaim CRD comes with the feature, or from another installer later: optional.
      {
        group: ipamClaimGroup,
        version: ipamClaimVersion,
        plural: ipamClaimKind.plural,
        handle: (e) => claims.reconcile(e),
        options: { name: controllerNames.ipamClaims, kind: ipamClaimKind.kind, optional: true },
        when: settings.enableIPAMClaim === true,
      },
      applicationWatch('Deployment'),
      applicationWatch('ReplicaSet'),
      applicationWatch('DaemonSet'),
      applicationWatch('Job'),
      applicationWatch('CronJob'),
    ];
  }

  protected async init(): Promise<void> {
    const parts = this.sharedParts();
    const { settings, log, caches, index, gc } = parts;
    for (const w of this.watches(parts)) {
      if (w.when === false) continue;
      await this.watchResource(w.group, w.version, w.plural, w.handle, undefined, w.options);
    }
    // Auto-pools whose application went while no operator ran: once every watch has listed (and
    // every 10 minutes), each pool is looked at again, which reclaims those without an application.
    if (settings.enableSpiderSubnet && settings.enableAutoPoolForApplication)
      this.schedule('auto-pool-orphans', 600_000, async () => this.resync([controllerNames.pools]));
    // SpiderCoordinator default's status also follows the Nodes and ServiceCIDRs it reads.
    this.schedule(`${controllerNames.coordinator}-cidrs`, 30_000, () => this.coordinatorStatus.sync());
    if (settings.gcEnabled) {
      const scan = new FullScan(gc, index, caches, log, () => this.resync([controllerNames.pools]));
      this.schedule(controllerNames.scan, settings.gcIntervalSeconds * 1000, async () => {
        await scan.run();
      });
    }
  }

  /** Re-checks the webhook configurations (after the certificate was renewed). */
  refreshWebhookConfigurations(): void {
    this.resync(webhookConfigurationPlurals);
  }
}
