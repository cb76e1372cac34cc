// The spiderpool-ts operator: the hardened dot-i operator with its controllers. Phase 1 has the
// machinery and one controller (the webhook configurations); the IPAM controllers (pools,
// endpoints, pod GC, KubeVirt, the periodic scan) are declared here in the same way.

import type { IpamSettings } from './config/index.js';
import {
  admissionRegistration,
  WebhookConfigurationsController,
  type WebhookTarget,
  webhookConfigurationPlurals,
  webhookConfigurationSelector,
} from './controllers/webhook-configurations.js';
import type { EventRecorder } from './events/recorder.js';
import { type FrameworkOptions, HardenedOperator } from './framework/operator.js';

export interface SpiderpoolOperatorOptions extends FrameworkOptions {
  ipam: IpamSettings;
  recorder: EventRecorder;
  /** What the webhook configurations must point at; undefined until the certificate is loaded. */
  webhookTarget: () => WebhookTarget | undefined;
}

export class SpiderpoolOperator extends HardenedOperator {
  protected readonly ipam: IpamSettings;
  protected readonly recorder: EventRecorder;
  private readonly webhookConfigurations: WebhookConfigurationsController;

  constructor(opts: SpiderpoolOperatorOptions) {
    super(opts);
    this.ipam = opts.ipam;
    this.recorder = opts.recorder;
    this.webhookConfigurations = new WebhookConfigurationsController(
      this.rest,
      opts.webhookTarget,
      (what) => this.assertLeading(what),
      this.log.child({ controller: 'webhook-configurations' }),
    );
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
  }

  /** Re-checks the webhook configurations (after the certificate was renewed). */
  refreshWebhookConfigurations(): void {
    this.resync(webhookConfigurationPlurals);
  }
}
