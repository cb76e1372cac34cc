// Spiderpool users' SpiderMultusConfig and SpiderCoordinator manifests (from Spiderpool's docs, in
// fixtures/) apply unchanged to the CRDs in crds/, keep every field the user wrote, get the schema
// defaults Spiderpool's CRDs declare, and answer to their short names.
import { readFileSync } from 'node:fs';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { group, kinds, version } from '../../../api/index.js';
import { controlPlane, kubeConfig } from '../../harness/clients.js';
import { apply, ensureRepoCrds, fixture, kubectl } from './kubectl.js';

const admin = () => controlPlane().adminKubeconfig;
const objects = () => kubeConfig().makeApiClient(CustomObjectsApi);
const smc = { group, version, plural: kinds.multusConfig.plural };
const scc = { group, version, plural: kinds.coordinator.plural };
const smcFixtures: Record<string, [string, string]> = {
  'smc-macvlan-quickstart.yaml': ['kube-system', 'macvlan-conf'],
  'smc-macvlan-ens192-coordinator.yaml': ['kube-system', 'macvlan-ens192'],
  'smc-reference-demo.yaml': ['default', 'demo'],
};

interface Written {
  metadata: { annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}
const written = (file: string) => parse(readFileSync(fixture(file), 'utf8')) as Written;

beforeAll(async () => {
  await ensureRepoCrds(admin());
  await apply(admin(), [...Object.keys(smcFixtures), 'scc-default.yaml'].map(fixture));
}, 60_000);

afterAll(async () => {
  for (const [namespace, name] of Object.values(smcFixtures))
    await objects()
      .deleteNamespacedCustomObject({ ...smc, namespace, name })
      .catch(() => undefined);
  await objects()
    .deleteClusterCustomObject({ ...scc, name: 'default' })
    .catch(() => undefined);
});

test.each(Object.entries(smcFixtures))(
  '%s applies unchanged and keeps every field, with the schema defaults Spiderpool declares',
  async (file, [namespace, name]) => {
    const stored = (await objects().getNamespacedCustomObject({ ...smc, namespace, name })) as Written;
    const w = written(file);
    // The CRD defaults: enableCoordinator true, disableIPAM false, macvlan.mtu 0,
    // ippools.matchMasterSubnet false (and, where a coordinator block is written, its defaults).
    expect(stored.spec).toMatchObject({ enableCoordinator: true, disableIPAM: false, ...w.spec });
    const macvlan = w.spec.macvlan as { ippools?: object };
    expect(stored.spec.macvlan).toEqual({
      mtu: 0,
      ...macvlan,
      ...(macvlan.ippools ? { ippools: { matchMasterSubnet: false, ...macvlan.ippools } } : {}),
    });
    for (const [key, value] of Object.entries(w.metadata.annotations ?? {}))
      expect(stored.metadata.annotations?.[key]).toBe(value);
  },
);

test('a coordinator block written in a SpiderMultusConfig gets CoordinatorSpec defaults', async () => {
  const stored = (await objects().getNamespacedCustomObject({
    ...smc,
    namespace: 'kube-system',
    name: 'macvlan-ens192',
  })) as Written;
  expect(stored.spec.coordinator).toEqual({
    mode: 'auto',
    tunePodRoutes: true,
    hostRuleTable: 500,
    podRPFilter: 0,
    txQueueLen: 0,
    policyRoutes: [{ dst: '10.10.0.0/16', gw: '172.18.0.1' }],
  });
});

test('the reference SpiderCoordinator applies unchanged; its status is left to the status subresource', async () => {
  const stored = (await objects().getClusterCustomObject({ ...scc, name: 'default' })) as Written & {
    status?: unknown;
  };
  expect(stored.spec).toEqual(written('scc-default.yaml').spec);
  // The manifest's status (the CIDRs of the cluster it was taken from) is not stored by apply. An
  // operator that ran earlier on this shared control plane may have written its own status; it never
  // holds the manifest's CIDRs, which this cluster does not have.
  const status = stored.status as { serviceCIDR?: string[]; overlayPodCIDR?: string[] } | undefined;
  expect(status?.serviceCIDR ?? []).not.toContain('10.233.0.0/18');
  expect(status?.overlayPodCIDR ?? []).not.toContain('10.233.64.0/18');
});

test('kubectl knows the short names smc and scc', async () => {
  const smcNames = (await kubectl(admin(), ['get', 'smc', '-A', '-o', 'name'])).stdout;
  expect(smcNames).toContain('spidermultusconfig.spiderpool.spidernet.io/macvlan-ens192');
  const sccNames = (await kubectl(admin(), ['get', 'scc', '-o', 'name'])).stdout;
  expect(sccNames.trim()).toBe('spidercoordinator.spiderpool.spidernet.io/default');
});

test('a SpiderCoordinator not named default is refused, naming the field', async () => {
  const err = await objects()
    .createClusterCustomObject({
      ...scc,
      body: { apiVersion: `${group}/${version}`, kind: kinds.coordinator.kind, metadata: { name: 'other' } },
    })
    .then(
      () => undefined,
      (e: { body?: unknown }) => String(e.body),
    );
  expect(err).toMatch(/metadata\.name other is not default/);
});

describe('invalid SpiderMultusConfig specs are refused by the CRD rules, naming the field', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['cniType macvlan without its block', { cniType: 'macvlan' }, /spec\.macvlan is required/],
    [
      'a block of another cniType',
      { cniType: 'macvlan', macvlan: { master: ['eth0'] }, ipvlan: { master: ['eth1'] } },
      /spec\.ipvlan is only allowed when spec\.cniType is ipvlan, not macvlan/,
    ],
    [
      'several masters without a bond',
      { cniType: 'macvlan', macvlan: { master: ['eth0', 'eth1'] } },
      /spec\.macvlan\.bond: Required value: spec\.macvlan\.bond is required with several masters/,
    ],
    [
      'a vlanID out of range',
      { cniType: 'ipvlan', ipvlan: { master: ['eth0'], vlanID: 4095 } },
      /spec\.ipvlan\.vlanID: Invalid value: 4095/,
    ],
    [
      'matchMasterSubnet for macvlan',
      { cniType: 'macvlan', macvlan: { master: ['eth0'], ippools: { matchMasterSubnet: true } } },
      /spec\.macvlan\.ippools\.matchMasterSubnet is not supported for macvlan/,
    ],
    ['sriov without resourceName', { cniType: 'sriov', sriov: {} }, /spec\.sriov\.resourceName is required/],
    [
      'a multicast podMACPrefix',
      { cniType: 'macvlan', macvlan: { master: ['eth0'] }, coordinator: { podMACPrefix: '01:1b' } },
      /spec\.coordinator\.podMACPrefix: .*podMACPrefix 01:1b is not unicast/,
    ],
    [
      'a policy route whose gw is not an address',
      {
        cniType: 'macvlan',
        macvlan: { master: ['eth0'] },
        coordinator: { policyRoutes: [{ dst: '10.10.0.0/16', gw: 'router' }] },
      },
      /spec\.coordinator\.policyRoutes\[0\]\.gw: .*policyRoutes\[\]\.gw router is not an IP address/,
    ],
    ['an unknown cniType', { cniType: 'bridge' }, /spec\.cniType: Unsupported value: "bridge"/],
  ];
  test.each(cases)('%s', async (_what, spec, message) => {
    const err = await objects()
      .createNamespacedCustomObject({
        ...smc,
        namespace: 'default',
        body: {
          apiVersion: `${group}/${version}`,
          kind: kinds.multusConfig.kind,
          metadata: { name: 'invalid-smc' },
          spec,
        },
      })
      .then(
        () => 'accepted',
        (e: { body?: unknown }) => JSON.parse(String(e.body)).message as string,
      );
    expect(err).toMatch(message);
  });
});
