// Spiderpool users bring their manifests: the reference-doc samples, the Macvlan quick start's pool
// and the seed's pool apply unchanged, keep every field, and `kubectl get` prints Spiderpool's
// columns.
import { readFileSync } from 'node:fs';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { group, kinds, type SpiderEndpoint, version } from '../../../api/index.js';
import { controlPlane, kubeConfig, uniqueName } from '../../harness/clients.js';
import { apply, ensureRepoCrds, fixture, kubectl } from './kubectl.js';

const admin = () => controlPlane().adminKubeconfig;
const objects = () => kubeConfig().makeApiClient(CustomObjectsApi);
const pools = { group, version, plural: kinds.ippool.plural };
const namespace = uniqueName('install-examples');
const poolFixtures = {
  'spiderippool-reference.yaml': 'master-172',
  'macvlan-quickstart-ippool.yaml': 'ippool-test',
  'seed-ippool.yaml': 'test-ippool',
};

/** `kubectl get` output as rows of cells, cut at the header's column starts (empty cells stay ''). */
function table(stdout: string): string[][] {
  const [header = '', ...rows] = stdout.trimEnd().split('\n');
  const starts = [...header.matchAll(/\S+/g)].map((m) => m.index);
  return [header, ...rows].map((line) =>
    starts.map((start, i) => line.slice(start, starts[i + 1] ?? line.length).trim()),
  );
}

beforeAll(async () => {
  await ensureRepoCrds(admin());
  await kubeConfig()
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: namespace } } });
  await apply(admin(), Object.keys(poolFixtures).map(fixture));
});

afterAll(async () => {
  for (const name of Object.values(poolFixtures)) {
    await objects()
      .deleteClusterCustomObject({ ...pools, name })
      .catch(() => undefined);
  }
  await kubeConfig().makeApiClient(CoreV1Api).deleteNamespace({ name: namespace });
});

test.each(Object.entries(poolFixtures))(
  '%s applies unchanged and keeps every spec field',
  async (file, name) => {
    const written = parse(readFileSync(fixture(file), 'utf8')) as { spec: Record<string, unknown> };
    const stored = (await objects().getClusterCustomObject({ ...pools, name })) as {
      spec: Record<string, unknown>;
    };
    // Nothing pruned; only the schema defaults (default, disable: false) may be added.
    expect(stored.spec).toEqual({ default: false, disable: false, ...written.spec });
  },
);

test('kubectl get spiderippool prints the seed’s columns and values', async () => {
  await kubectl(admin(), [
    'patch',
    'spiderippool',
    'test-ippool',
    '--subresource=status',
    '--type=merge',
    '-p',
    '{"status":{"allocatedIPCount":1,"totalIPCount":10}}',
  ]);
  const { stdout } = await kubectl(admin(), ['get', 'spiderippool', 'test-ippool']);
  expect(table(stdout)).toEqual([
    ['NAME', 'VERSION', 'SUBNET', 'ALLOCATED-IP-COUNT', 'TOTAL-IP-COUNT', 'DEFAULT'],
    ['test-ippool', '4', '10.6.0.0/16', '1', '10', 'false'],
  ]);
  // The short name and -o wide, as Spiderpool declares them.
  const wide = table((await kubectl(admin(), ['get', 'sp', 'master-172', '-o', 'wide'])).stdout);
  expect(wide[0]).toEqual([
    'NAME',
    'VERSION',
    'SUBNET',
    'ALLOCATED-IP-COUNT',
    'TOTAL-IP-COUNT',
    'DEFAULT',
    'DISABLE',
    'NODENAME',
    'MULTUSNAME',
    'APP-NAMESPACE',
  ]);
  expect(wide[1]?.slice(0, 3)).toEqual(['master-172', '4', '172.31.192.0/20']);
});

test('the SpiderEndpoint sample applies unchanged into a namespace and prints Spiderpool’s columns', async () => {
  await apply(admin(), [fixture('spiderendpoint-reference.yaml')], ['-n', namespace]);
  const written = parse(readFileSync(fixture('spiderendpoint-reference.yaml'), 'utf8')) as SpiderEndpoint;
  const stored = (await objects().getNamespacedCustomObject({
    group,
    version,
    plural: kinds.endpoint.plural,
    namespace,
    name: 'test-app-1-9dc78fb9-rs99d',
  })) as SpiderEndpoint;
  expect(stored.status).toEqual(written.status);
  const { stdout } = await kubectl(admin(), ['get', 'se', '-n', namespace]);
  expect(table(stdout)).toEqual([
    ['NAME', 'INTERFACE', 'IPV4POOL', 'IPV4', 'IPV6POOL', 'IPV6', 'NODE'],
    ['test-app-1-9dc78fb9-rs99d', 'eth0', 'worker-172', '172.31.199.193/20', '', '', 'dc-test02'],
  ]);
});

test('the spiderpool category lists Spiderpool’s kinds', async () => {
  const { stdout } = await kubectl(admin(), ['get', 'spiderpool', '-A', '-o', 'name']);
  expect(stdout).toContain('spiderippool.spiderpool.spidernet.io/test-ippool');
  expect(stdout).toContain('spiderendpoint.spiderpool.spidernet.io/test-app-1-9dc78fb9-rs99d');
});
