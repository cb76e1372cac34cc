import type { V1Pod } from '@kubernetes/client-node';
import { graceDeadlineMs, slimPod } from '../../../../ipam/gc/pod.js';

/** A pod as the GC rules read it: what the cache must keep. */
const kept = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web',
    namespace: 'ns',
    uid: 'u1',
    resourceVersion: '7',
    creationTimestamp: new Date('2026-01-01T00:00:00Z'),
    deletionTimestamp: new Date('2026-01-01T00:01:00Z'),
    deletionGracePeriodSeconds: 30,
    labels: { app: 'web' },
    annotations: {
      'ipam.spidernet.io/ippool': '{"ipv4":["a"]}',
      'k8s.v1.cni.cncf.io/networks': 'macvlan',
      'kubevirt.io/migrationJobName': 'm',
    },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'r', controller: true }],
  },
  spec: { containers: [], nodeName: 'node-1', restartPolicy: 'Never', hostNetwork: false },
  status: { phase: 'Running', reason: 'Evicted' },
} satisfies V1Pod;

/** The same pod as the API serves it, with all the rules never read. */
const full: V1Pod = {
  ...kept,
  metadata: {
    ...kept.metadata,
    annotations: {
      ...kept.metadata.annotations,
      'kubectl.kubernetes.io/last-applied-configuration': '{"huge":"blob"}',
    },
    ownerReferences: [
      ...kept.metadata.ownerReferences,
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'x' },
    ],
    managedFields: [{ manager: 'kubectl' }],
  },
  spec: {
    ...kept.spec,
    containers: [{ name: 'c', image: 'nginx', env: [{ name: 'A', value: 'B' }] }],
    volumes: [{ name: 'v' }],
  },
  status: { ...kept.status, conditions: [{ type: 'Ready', status: 'True' }], podIP: '10.0.0.1' },
};

test('the cached pod keeps what the rules read and drops the rest', () => {
  expect(slimPod(full)).toEqual(kept);
});

test('the grace deadline is the deletionTimestamp, whether it was parsed or is still text', () => {
  expect(graceDeadlineMs(full)).toBe(Date.parse('2026-01-01T00:01:00Z'));
  expect(
    graceDeadlineMs({ metadata: { deletionTimestamp: '2026-01-01T00:02:00Z' as unknown as Date } }),
  ).toBe(Date.parse('2026-01-01T00:02:00Z'));
  expect(graceDeadlineMs({ metadata: {} })).toBeUndefined();
});
