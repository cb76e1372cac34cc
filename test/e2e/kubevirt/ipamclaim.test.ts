// A VM whose secondary network's addresses are keyed to an IPAMClaim, run by KubeVirt's own
// virt-controller: the claim is made as kubevirt-ipam-controller makes it (`<vm>.<network>`, owned by
// the VM, spec.network = the NAD config's name), and a mutating pod webhook served here plays that
// controller's webhook, adding `ipam-claim-reference` to the launcher pod's network selection element
// (kubevirt/ipam-extensions pkg/ipamclaimswebhook/podmutator.go), on pod creates and updates as that
// webhook does: virt-controller rewrites the networks annotation after creating the pod, which would
// otherwise drop the reference. The node agent's Multus delegation
// runs Debian's bridge plugin with the compiled spiderpool IPAM (enableIPAMClaim on) for it.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { ipamClaimCrd } from '../../../api/crds.js';
import { type IPAMClaim, ipamClaimGroup, ipamClaimKind, ipamClaimVersion } from '../../../api/index.js';
import { ipamClaimCniRules } from '../../../cdk8s/charts/rbac.js';
import { RestClient } from '../../../kube/rest.js';
import { controlPlane } from '../../harness/clients.js';
import { applyCrds } from '../../harness/crds.js';
import { ensureServingCert } from '../../harness/pki.js';
import { grantClusterRules } from '../../harness/spiderpool-api.js';
import { eventually } from '../../harness/wait.js';
import {
  bridgeNad,
  create,
  deleteVm,
  KubeVirtWorld,
  kv,
  launcherPods,
  vmManifest,
  waitVmi,
} from './fixtures.js';

let world: KubeVirtWorld | undefined;
const w = () => world as KubeVirtWorld;
let server: Server | undefined;
let webhookName: string | undefined;
let revoke: (() => Promise<void>) | undefined;
let tenantPool = '';
const nadName = 'nad-tenant';

interface Review {
  apiVersion: string;
  kind: string;
  request?: { uid: string; object?: V1Pod };
}

/**
 * kubevirt-ipam-controller's pod mutation, for this test's one network: a launcher pod (annotation
 * `kubevirt.io/domain`) gets `ipam-claim-reference: <vm>.tenant` on the element naming the NAD.
 */
function claimPatch(pod: V1Pod): unknown[] {
  const annotations = pod.metadata?.annotations ?? {};
  const vm = annotations['kubevirt.io/domain'];
  const text = annotations['k8s.v1.cni.cncf.io/networks'];
  if (!vm || !text) return [];
  const elements = JSON.parse(text) as Array<Record<string, string>>;
  const mutated = elements.map((e) =>
    e.name === nadName ? { ...e, 'ipam-claim-reference': `${vm}.tenant` } : e,
  );
  return [
    {
      op: 'replace',
      path: '/metadata/annotations/k8s.v1.cni.cncf.io~1networks',
      value: JSON.stringify(mutated),
    },
  ];
}

async function serveClaimWebhook(namespace: string): Promise<void> {
  const cp = controlPlane();
  const name = `spiderpool-ts-ipamclaims-${process.pid}`;
  const tls = ensureServingCert(join(cp.dir, 'pki'), name);
  server = createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Review;
      const patch = review.request?.object ? claimPatch(review.request.object) : [];
      const response = {
        uid: review.request?.uid,
        allowed: true,
        ...(patch.length
          ? { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') }
          : {}),
      };
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ apiVersion: review.apiVersion, kind: review.kind, response }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server?.once('error', reject);
    server?.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const rest = new RestClient(w().fixtures.admin);
  await rest.request('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
    body: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name },
      webhooks: [
        {
          name: 'ipam-claims.k8s.cni.cncf.io',
          clientConfig: {
            url: `https://127.0.0.1:${port}/mutate-pods`,
            caBundle: readFileSync(cp.caFile).toString('base64'),
          },
          rules: [
            { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'] },
          ],
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          failurePolicy: 'Fail',
          timeoutSeconds: 10,
        },
      ],
    },
  });
  webhookName = name;
  // The API server picks a new admission configuration up a moment later: a dry-run launcher-shaped
  // pod shows when it does.
  const probe: V1Pod = {
    metadata: {
      name: 'probe',
      annotations: {
        'kubevirt.io/domain': 'probe',
        'k8s.v1.cni.cncf.io/networks': JSON.stringify([{ name: nadName, namespace }]),
      },
    },
    spec: { containers: [{ name: 'c', image: 'registry.invalid/none' }] },
  };
  await eventually(
    'the pod webhook to be called',
    async () => {
      const out = await w().fixtures.core.createNamespacedPod({ namespace, body: probe, dryRun: 'All' });
      return out.metadata?.annotations?.['k8s.v1.cni.cncf.io/networks']?.includes('ipam-claim-reference');
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
}

const claims = (namespace: string) => ({
  group: ipamClaimGroup,
  version: ipamClaimVersion,
  plural: ipamClaimKind.plural,
  namespace,
});

beforeAll(async () => {
  world = await KubeVirtWorld.start(
    'kv-claim',
    { subnet: '198.18.88.0/24', ips: ['198.18.88.10-198.18.88.19'] },
    { nodeSettings: { enableIPAMClaim: true } },
  );
  const { fixtures, lab, namespace } = w();
  await applyCrds(fixtures.admin, [ipamClaimCrd]);
  revoke = await grantClusterRules(
    fixtures.admin,
    'cni',
    ipamClaimCniRules().map((r) => ({ apiGroups: [r.apiGroup], resources: r.resources, verbs: r.verbs })),
  );
  tenantPool = await fixtures.pool({ subnet: '198.18.89.0/24', ips: ['198.18.89.10-198.18.89.19'] });
  await bridgeNad(fixtures.admin, lab, namespace, nadName, tenantPool, { allowPersistentIPs: true });
  await serveClaimWebhook(namespace);
}, 240_000);

afterAll(async () => {
  if (webhookName)
    await new RestClient(w().fixtures.admin)
      .request('DELETE', `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${webhookName}`)
      .catch(() => undefined);
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await revoke?.();
  await world?.close();
}, 120_000);

/** The tenant network's address in the launcher pod's Multus network-status. */
function tenantAddress(pod: V1Pod | undefined): string | undefined {
  const status = JSON.parse(
    pod?.metadata?.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '[]',
  ) as Array<{
    name: string;
    ips?: string[];
  }>;
  return status.find((s) => s.name.endsWith(`/${nadName}`))?.ips?.[0];
}

test("a VM's claimed secondary address is kept across a restart; the claim's status lists it", async () => {
  const { fixtures, namespace, nad } = w();
  const objects = fixtures.admin.makeApiClient(CustomObjectsApi);
  const name = 'vm-claim';
  await create(
    fixtures.admin,
    vmManifest(namespace, name, { defaultNetwork: nad, multus: [{ name: 'tenant', networkName: nadName }] }),
  );
  // kubevirt-ipam-controller's claim: `<vm>.<network>`, owned by the VM, spec.network the NAD config's name.
  const vm = (await objects.getNamespacedCustomObject({ ...kv('vm', namespace), name })) as {
    metadata: { uid: string };
  };
  await objects.createNamespacedCustomObject({
    ...claims(namespace),
    body: {
      apiVersion: `${ipamClaimGroup}/${ipamClaimVersion}`,
      kind: ipamClaimKind.kind,
      metadata: {
        name: `${name}.tenant`,
        labels: { 'kubevirt.io/vm': name },
        ownerReferences: [
          {
            apiVersion: 'kubevirt.io/v1',
            kind: 'VirtualMachine',
            name,
            uid: vm.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: { network: nadName, interface: '' },
    },
  });

  const first = await waitVmi(
    fixtures.admin,
    namespace,
    name,
    'to run',
    (v) => v.status?.phase === 'Running',
  );
  const [launcher] = await launcherPods(fixtures, namespace, first);
  const element = (
    JSON.parse(launcher?.metadata?.annotations?.['k8s.v1.cni.cncf.io/networks'] ?? '[]') as Array<
      Record<string, string>
    >
  ).find((e) => e.name === nadName);
  expect(element?.['ipam-claim-reference']).toBe(`${name}.tenant`);
  const address = tenantAddress(launcher);
  expect(address).toMatch(/^198\.18\.89\.1\d$/);
  const claim = (await objects.getNamespacedCustomObject({
    ...claims(namespace),
    name: `${name}.tenant`,
  })) as IPAMClaim;
  expect(claim.status).toMatchObject({ ips: [`${address}/24`], ownerPod: launcher?.metadata?.name });
  expect(claim.status?.conditions).toEqual([
    expect.objectContaining({ type: 'IPsAllocated', status: 'True', reason: 'SuccessfulAllocation' }),
  ]);
  const endpoint = await fixtures.endpoint(namespace, `${name}.tenant`);
  expect(endpoint?.status?.ownerControllerType).toBe('IPAMClaim');

  // Restart: the VMI is deleted and virt-controller starts a new one with a new launcher pod.
  await objects.deleteNamespacedCustomObject({ ...kv('vmi', namespace), name });
  const second = await waitVmi(
    fixtures.admin,
    namespace,
    name,
    'to run again',
    (v) => v.metadata.uid !== first.metadata.uid && v.status?.phase === 'Running',
  );
  const [relaunched] = await launcherPods(fixtures, namespace, second);
  expect(tenantAddress(relaunched)).toBe(address);
  await eventually(
    "the claim's status to name the new launcher pod",
    async () => {
      const now = (await objects.getNamespacedCustomObject({
        ...claims(namespace),
        name: `${name}.tenant`,
      })) as IPAMClaim;
      return now.status?.ownerPod === relaunched?.metadata?.name;
    },
    { timeoutMs: 30_000 },
  );
  await deleteVm(fixtures, namespace, name);
}, 300_000);
