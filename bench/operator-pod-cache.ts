// The operator caches every Pod of the cluster. This measures what the cache transform
// (ipam/gc/pod.ts slimPod) saves: the heap held by N pods shaped as the API server sends them
// (containers, volumes, conditions, managed fields, last-applied annotation), cached as they come
// and cached slimmed, side by side in one process. Reports bytes per pod and the ratio.
//   npm run bench:operator-pod-cache [-- --pods 20000]
import type { V1Pod } from '@kubernetes/client-node';
import { slimPod } from '../ipam/gc/pod.js';
import { ResourceEventType } from '../operator/framework/events.js';
import { ObjectStore } from '../operator/framework/store.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const pods = arg('pods', 20_000);

/** A Deployment's pod as a real API server returns it (sizes typical of a small web app). */
function realisticPod(i: number): V1Pod {
  const name = `web-6d4cf56db6-${i.toString(36).padStart(5, 'x')}`;
  const container = {
    name: 'web',
    image: 'registry.example/web:1.2.3',
    ports: [{ containerPort: 8080, protocol: 'TCP' }],
    env: Array.from({ length: 8 }, (_, k) => ({ name: `SETTING_${k}`, value: `value-${k}-${i}` })),
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    volumeMounts: [
      { name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
    ],
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: `team-${i % 50}`,
      uid: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      resourceVersion: String(100_000 + i),
      creationTimestamp: new Date(1_700_000_000_000 + i),
      labels: { app: 'web', 'pod-template-hash': '6d4cf56db6', tier: 'frontend' },
      annotations: {
        'ipam.spidernet.io/ippool': '{"ipv4":["vlan40-v4"]}',
        'k8s.v1.cni.cncf.io/network-status': JSON.stringify([
          { name: 'kube-system/macvlan', interface: 'net1', ips: [`198.18.${i % 250}.${i % 200}`] },
        ]),
        'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z',
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web-6d4cf56db6',
          uid: 'rs-uid',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: Array.from({ length: 3 }, (_, k) => ({
        manager: ['kube-controller-manager', 'kubelet', 'multus'][k],
        operation: 'Update',
        apiVersion: 'v1',
        time: new Date(1_700_000_000_000 + i),
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
          'f:spec': { 'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:image': {}, 'f:env': {} } } },
        },
      })),
    },
    spec: {
      nodeName: `node-${i % 100}`,
      restartPolicy: 'Always',
      serviceAccountName: 'default',
      containers: [container],
      volumes: [
        {
          name: 'kube-api-access',
          projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }] },
        },
      ],
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ],
    },
    status: {
      phase: 'Running',
      podIP: `10.244.${i % 250}.${i % 200}`,
      hostIP: `192.0.2.${i % 100}`,
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type,
        status: 'True',
        lastTransitionTime: new Date(1_700_000_000_000 + i),
      })),
      containerStatuses: [
        {
          name: 'web',
          ready: true,
          restartCount: 0,
          image: container.image,
          imageID: `registry.example/web@sha256:${'ab'.repeat(32)}`,
          containerID: `containerd://${'cd'.repeat(32)}`,
          started: true,
          state: { running: { startedAt: new Date(1_700_000_000_000 + i) } },
        },
      ],
    },
  };
}

function heap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

/** Bytes of heap the store holds for `pods` pods after `transform`. */
function cached(transform: (p: V1Pod) => V1Pod): { bytes: number; store: ObjectStore } {
  const before = heap();
  const store = new ObjectStore();
  // One at a time, as watch events arrive: the full object is garbage once transformed.
  for (let i = 0; i < pods; i++) store.apply(ResourceEventType.Added, transform(realisticPod(i)));
  return { bytes: heap() - before, store };
}

if (!(globalThis as { gc?: () => void }).gc) {
  process.stderr.write('run with node --expose-gc (npm run bench:operator-pod-cache does)\n');
  process.exit(2);
}
const full = cached((p) => p);
const fullBytes = full.bytes;
full.store.replace([]);
const slim = cached(slimPod);
const perFull = fullBytes / pods;
const perSlim = slim.bytes / pods;
process.stdout.write(
  `${JSON.stringify({ pods, bytesPerPodFull: Math.round(perFull), bytesPerPodSlim: Math.round(perSlim), ratio: Number((perFull / perSlim).toFixed(2)), slimStoreSize: slim.store.size })}\n`,
);
