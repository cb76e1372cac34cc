// Multus' NetworkAttachmentDefinition CRD (k8s.cni.cncf.io/v1), in the shape Multus installs it: a
// namespaced object whose `spec.config` is the CNI configuration as a JSON string.
import type { CrdDefinition } from '../../api/index.js';
import { nadGroup, nadPlural, nadVersion } from '../../multus/ownership.js';

export { nadGroup, nadVersion };

export const networkAttachmentDefinitionCrd: CrdDefinition = {
  name: `${nadPlural}.${nadGroup}`,
  spec: {
    group: nadGroup,
    scope: 'Namespaced',
    names: {
      kind: 'NetworkAttachmentDefinition',
      listKind: 'NetworkAttachmentDefinitionList',
      plural: nadPlural,
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
