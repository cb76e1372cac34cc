// The kubeconfig the plugin uses on the host: the API server's service address, the CA copied next
// to it (by its host path), and the service-account token inline, as Calico and Whereabouts write
// theirs. The installer rewrites it when the kubelet rotates the token.
import { stringify } from 'yaml';

export interface KubeconfigInput {
  server: string;
  caFile: string;
  token: string;
}

/** https://host:port with an IPv6 host in brackets. */
export function serverUrl(host: string, port: string): string {
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `https://${bracketed}:${port}`;
}

export function renderKubeconfig({ server, caFile, token }: KubeconfigInput): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: 'spiderpool', user: { token } }],
    contexts: [{ name: 'spiderpool', context: { cluster: 'local', user: 'spiderpool' } }],
    'current-context': 'spiderpool',
  });
}
