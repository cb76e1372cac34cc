// The caBundle (and, for tests, a URL instead of the Service) in the two webhook configurations
// named `spiderpool-operator`. Their manifests come from the installation; the operator only fills
// in what it alone knows.
import { objectNames } from '../../api/install/names.js';

export const webhookConfigurationName = objectNames.webhookConfiguration;

export interface ClientConfig {
  caBundle?: string;
  url?: string;
  service?: { name: string; namespace: string; path?: string; port?: number };
}

export interface WebhookConfiguration {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; resourceVersion?: string };
  webhooks?: Array<{ name: string; clientConfig: ClientConfig; [key: string]: unknown }>;
}

/**
 * The client config a webhook should have: the CA bundle, and with `urlBase` (e.g.
 * https://127.0.0.1:5722) a URL made of that base and the path the Service reference named.
 */
export function desiredClientConfig(
  current: ClientConfig,
  caBundleB64: string,
  urlBase?: string,
): ClientConfig {
  if (!urlBase) return { ...current, caBundle: caBundleB64 };
  const path = current.service?.path ?? (current.url ? new URL(current.url).pathname : '/');
  return { url: `${urlBase}${path}`, caBundle: caBundleB64 };
}

/** The configuration with every webhook's client config made desired, or undefined if nothing changes. */
export function withClientConfigs(
  config: WebhookConfiguration,
  caBundleB64: string,
  urlBase?: string,
): WebhookConfiguration | undefined {
  let changed = false;
  const webhooks = (config.webhooks ?? []).map((w) => {
    const want = desiredClientConfig(w.clientConfig, caBundleB64, urlBase);
    if (JSON.stringify(want) === JSON.stringify(w.clientConfig)) return w;
    changed = true;
    return { ...w, clientConfig: want };
  });
  return changed ? { ...config, webhooks } : undefined;
}
