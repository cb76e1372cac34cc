// Multus' NetworkAttachmentDefinition CRD (k8s.cni.cncf.io/v1), in the shape Multus installs it: a
// namespaced object whose `spec.config` is the CNI configuration as a JSON string.
import type { CrdDefinition } from '../../api/index.js';

export const nadGroup = 'k8s.cni.cncf.io';
export const nadVersion = 'v1';

export const networkAttachmentDefinitionCrd: CrdDefinition = {
  name: `network-attachment-definitions.${nadGroup}`,
  spec: {
    group: nadGroup,
    scope: 'Namespaced',
    names: {
      kind: 'NetworkAttachmentDefinition',
      listKind: 'NetworkAttachmentDefinitionList',
      plural: 'network-attachment-definitions',
      singular: 'network-attachment-definition',
      shortNames: ['net-attach-def'],
    },
    versions: [
      {
        name: nadVersion,
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            description: 'A CNI configuration Multus attaches to pods that name it',
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: {
                type: 'object',
                properties: {
                  config: { type: 'string', description: 'the CNI configuration, a JSON string' },
                },
              },
            },
          },
        },
      },
    ],
  },
};
