// Keeps the caBundle (and in URL mode the URL) of the MutatingWebhookConfiguration and
// ValidatingWebhookConfiguration `spiderpool-operator` true to the certificate this operator
// serves: on start, whenever someone re-applies the manifests without it, and after a renewal.
import type { KubernetesObject } from '@kubernetes/client-node';
import { resourcePath } from '../../kube/resource.js';
import type { RestClient } from '../../kube/rest.js';
import { type ResourceEvent, ResourceEventType } from '../framework/events.js';
import type { Logger } from '../observability/log.js';
import {
  type WebhookConfiguration,
  webhookConfigurationName,
  withClientConfigs,
} from '../webhook/configurations.js';

export const admissionRegistration = { group: 'admissionregistration.k8s.io', version: 'v1' };
export const webhookConfigurationPlurals = [
  'mutatingwebhookconfigurations',
  'validatingwebhookconfigurations',
];
export const webhookConfigurationSelector = `metadata.name=${webhookConfigurationName}`;

export interface WebhookTarget {
  /** base64 of the PEM CA bundle clients must trust. */
  caBundleB64: string;
  /** e.g. https://127.0.0.1:5722 when the configurations should call a URL instead of the Service. */
  urlBase?: string;
}

export class WebhookConfigurationsController {
  constructor(
    private readonly rest: RestClient,
    private readonly target: () => WebhookTarget | undefined,
    private readonly guard: (what: string) => void,
    private readonly log: Logger,
  ) {}

  async reconcile(event: ResourceEvent): Promise<void> {
    if (event.type === ResourceEventType.Deleted) return;
    const target = this.target();
    if (!target) throw new Error('the webhook certificate is not loaded yet');
    const config = event.object as KubernetesObject & WebhookConfiguration;
    const wanted = withClientConfigs(config, target.caBundleB64, target.urlBase);
    if (!wanted) return;
    const plural = `${(config.kind ?? '').toLowerCase()}s`;
    this.guard(`update ${plural} ${config.metadata.name}`);
    // PUT with the resourceVersion we saw: a concurrent edit wins, and the queue retries with it.
    await this.rest.request('PUT', resourcePath({ ...admissionRegistration, plural }, config.metadata.name), {
      body: wanted,
    });
    this.log.info('webhook configuration updated', {
      object: `${plural}/${config.metadata.name}`,
      url: target.urlBase,
    });
  }
}
