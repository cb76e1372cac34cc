// The spiderpool-ts operator: the hardened dot-i operator with its controllers. Each watched
// resource is declared in init() with its handler; the controllers gather facts from the caches,
// let ipam/ decide, and write through kube/-style guarded calls.

import { group, kinds, kubevirtGroup, kubevirtKinds, kubevirtVersion, version } from '../api/index.js';
import { installDefaults } from '../api/install/names.js';
import { slimPod } from '../ipam/gc/pod.js';
import type { IpamSettings } from './config/index.js';
import { ClusterIO } from './controllers/cluster-io.js';
import { CoordinatorStatusController } from './controllers/coordinator-status.js';
import { EndpointController } from './controllers/endpoints.js';
import { type Caches, FactSource } from './controllers/facts.js';
import { IdentityGc } from './controllers/identity-gc.js';
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
import { type FrameworkOptions, HardenedOperator, type Lister } from './framework/operator.js';

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
  coordinator: 'spidercoordinator',
} as const;

const core = { group: '', version: 'v1' };
const apps = { group: 'apps', version: 'v1' };
const kubevirt = { group: kubevirtGroup, version: kubevirtVersion };

export class SpiderpoolOperator extends HardenedOperator {
  protected readonly ipam: IpamSettings;
  protected readonly recorder: EventRecorder;
  private readonly webhookConfigurations: WebhookConfigurationsController;
  private readonly index = new RecordIndex();
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
    };
  }

  private syncedIndex(): RecordIndex {
    this.index.sync(this.caches().pools?.list() ?? []);
    return this.index;
  }

  /**
   * SpiderMultusConfig -> NetworkAttachmentDefinition (multus/render.ts decides, the controller
   * writes), and SpiderCoordinator default's status.
   */
  private async watchMultusConfigs(): Promise<void> {
    const controller = new MultusConfigController({
      rest: this.rest,
      recorder: this.recorder,
      log: this.log,
      guard: (what) => this.assertLeading(what),
    });
    await this.watchResource(
      group,
      version,
      kinds.multusConfig.plural,
      (e) => controller.reconcile(e),
      undefined,
      {
        name: controllerNames.multusConfigs,
        kind: kinds.multusConfig.kind,
      },
    );
    // SpiderCoordinator default: on its changes, and every 30 s for the Nodes and ServiceCIDRs it reads.
    const coordinator = new CoordinatorStatusController(this.rest, (what) => this.assertLeading(what));
    await this.watchResource(group, version, kinds.coordinator.plural, () => coordinator.sync(), undefined, {
      name: controllerNames.coordinator,
      kind: kinds.coordinator.kind,
    });
    this.schedule(`${controllerNames.coordinator}-cidrs`, 30_000, () => coordinator.sync());
  }

  protected async init(): Promise<void> {
    for (const plural of webhookConfigurationPlurals)
      await this.watchResource(
        admissionRegistration.group,
        admissionRegistration.version,
        plural,
        (e) => this.webhookConfigurations.reconcile(e),
        undefined,
        { name: plural, fieldSelector: webhookConfigurationSelector },
      );

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

    const pools = new PoolController(writes, this.metrics, log, () => caches().reservedIPs);
    await this.watchResource(
      group,
      version,
      kinds.ippool.plural,
      async (e) => {
        await pools.reconcile(e);
        if (e.type === ResourceEventType.Deleted) this.resync([controllerNames.subnets]);
      },
      undefined,
      { name: controllerNames.pools, kind: kinds.ippool.kind },
    );
    const endpoints = new EndpointController({
      gc,
      setFinalizers: writes.setFinalizers,
      recorder: this.recorder,
      caches,
      retryLater: (ep, delayMs) =>
        this.enqueueAfter(controllerNames.endpoints, `${ep.metadata.namespace}/${ep.metadata.name}`, delayMs),
      log,
    });
    await this.watchResource(
      group,
      version,
      kinds.endpoint.plural,
      (e) => endpoints.reconcile(e),
      undefined,
      {
        name: controllerNames.endpoints,
        kind: kinds.endpoint.kind,
      },
    );
    const subnets = new SubnetController(writes, () => caches().pools, log);
    await this.watchResource(group, version, kinds.subnet.plural, (e) => subnets.reconcile(e), undefined, {
      name: controllerNames.subnets,
      kind: kinds.subnet.kind,
    });
    // Reserved IPs change what pools may hand out: the free gauges follow.
    await this.watchResource(
      group,
      version,
      kinds.reservedip.plural,
      async () => this.resync([controllerNames.pools]),
      undefined,
      { name: controllerNames.reservedIPs, kind: kinds.reservedip.kind },
    );

    await this.watchMultusConfigs();

    let kubevirtController: KubeVirtController | undefined;
    if (settings.enableKubevirtStaticIP) {
      kubevirtController = new KubeVirtController({
        gc,
        io,
        index,
        caches,
        recorder: this.recorder,
        log,
        gcEnabled: settings.gcEnabled,
      });
      const kv = kubevirtController;
      const handlers = [
        [kubevirtKinds.vm, controllerNames.vms, (e: ResourceEvent) => kv.reconcileVM(e)],
        [kubevirtKinds.vmi, controllerNames.vmis, (e: ResourceEvent) => kv.reconcileVMI(e)],
        [kubevirtKinds.vmim, controllerNames.migrations, (e: ResourceEvent) => kv.reconcileMigration(e)],
      ] as const;
      // KubeVirt may not be installed (yet): these watches wait for its resources quietly.
      for (const [k, name, handle] of handlers)
        await this.watchResource(kubevirt.group, kubevirt.version, k.plural, handle, undefined, {
          name,
          kind: k.kind,
          optional: true,
        });
    }

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
    const kv = kubevirtController;
    const podController = new PodController({
      gc,
      index,
      explainer,
      settings,
      ...(kv ? { migration: (ns: string, vmi: string) => kv.migration(ns, vmi) } : {}),
    });
    await this.watchResource(core.group, core.version, 'pods', (e) => podController.reconcile(e), undefined, {
      name: controllerNames.pods,
      kind: 'Pod',
      transform: (o) => slimPod(o),
    });
    if (settings.enableStatefulSet && settings.gcEnabled) {
      const sts = new StatefulSetController(gc, index, caches);
      await this.watchResource(apps.group, apps.version, 'statefulsets', (e) => sts.reconcile(e), undefined, {
        name: controllerNames.statefulSets,
        kind: 'StatefulSet',
      });
    }

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
