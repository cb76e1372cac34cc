// Multus's cluster default network on the test bed's real nodes: the NetworkAttachmentDefinition CRD
// (Multus's installation brings it) and, in Multus's namespace, the NAD that pods without a
// default-network annotation get as eth0 (the node's pod network: bridge with the plugin as IPAM).
import type { KubeConfig } from '@kubernetes/client-node';
import { networkAttachmentDefinitionCrd } from '../../../cdk8s/charts/multus-crd.js';
import { isAlreadyExists } from '../../../kube/errors.js';
import { RestClient } from '../../../kube/rest.js';
import { applyCrds } from '../crds.js';

/** `namespace/name` of the cluster network the nodes' Multus stand-in is configured with. */
export const clusterNetwork = { namespace: 'kube-system', name: 'testbed-pod-network' } as const;

/** The NAD CRD, and with `config` the test bed's cluster network (else the caller brings its own). */
export async function ensureClusterNetwork(admin: KubeConfig, config?: string): Promise<void> {
  await applyCrds(admin, [networkAttachmentDefinitionCrd]);
  if (config === undefined) return;
  const rest = new RestClient(admin);
  try {
    await rest
      .request(
        'POST',
        `/apis/k8s.cni.cncf.io/v1/namespaces/${clusterNetwork.namespace}/network-attachment-definitions`,
        {
          body: {
            apiVersion: 'k8s.cni.cncf.io/v1',
            kind: 'NetworkAttachmentDefinition',
            metadata: { name: clusterNetwork.name, namespace: clusterNetwork.namespace },
            spec: { config },
          },
        },
      )
      .catch((err: unknown) => {
        if (!isAlreadyExists(err)) throw err;
      });
  } finally {
    rest.close();
  }
}
