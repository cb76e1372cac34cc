// Each CEL rule of the CRDs, against the real API server: a bad object is refused with a message
// that names the field (and, where the API server allows the cost, the value); a good one passes.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { apiVersion, group, kinds, version } from '../../../api/index.js';
import { apiStatus } from '../../../kube/errors.js';
import { controlPlane, kubeConfig, uniqueName } from '../../harness/clients.js';
import { ensureRepoCrds } from './kubectl.js';

type Kind = 'ippool' | 'subnet' | 'reservedip';

const objects = () => kubeConfig().makeApiClient(CustomObjectsApi);
const created: Array<{ kind: Kind; name: string }> = [];

function target(kind: Kind) {
  return { group, version, plural: kinds[kind].plural };
}

function body(kind: Kind, name: string, spec: Record<string, unknown>) {
  return { apiVersion, kind: kinds[kind].kind, metadata: { name }, spec };
}

async function create(kind: Kind, spec: Record<string, unknown>): Promise<string> {
  const name = uniqueName(`cel-${kind}`);
  await objects().createClusterCustomObject({ ...target(kind), body: body(kind, name, spec) });
  created.push({ kind, name });
  return name;
}

/** The API server's message for a refused create, or a failure if it was accepted. */
async function refusal(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (err) {
    expect(apiStatus(err)).toBe(422);
    return JSON.parse(String((err as { body: unknown }).body)).message as string;
  }
  throw new Error('the API server accepted it');
}

beforeAll(async () => {
  await ensureRepoCrds(controlPlane().adminKubeconfig);
});

afterAll(async () => {
  for (const { kind, name } of created) {
    await objects()
      .deleteClusterCustomObject({ ...target(kind), name })
      .catch(() => undefined);
  }
});

const subnet = '198.18.0.0/24';

// [rule, kind, spec, the error's field path, text the message must hold]
const badObjects: Array<[string, Kind, Record<string, unknown>, string, string]> = [
  [
    'subnet is a CIDR',
    'ippool',
    { subnet: 'banana' },
    'spec.subnet',
    'banana is not a network in canonical CIDR form',
  ],
  [
    'subnet is canonical (IPv4)',
    'ippool',
    { subnet: '198.18.0.1/24' },
    'spec.subnet',
    '198.18.0.1/24 is not',
  ],
  ['subnet is canonical (IPv6)', 'ippool', { subnet: 'fd00:0::/64' }, 'spec.subnet', 'fd00:0::/64 is not'],
  ['subnet length is bounded', 'ippool', { subnet: `${'1'.repeat(60)}/8` }, 'spec.subnet', 'Too long'],
  ['ipVersion is 4 or 6', 'ippool', { subnet, ipVersion: 5 }, 'spec.ipVersion', 'Unsupported value: 5'],
  [
    'ipVersion matches the subnet family',
    'ippool',
    { subnet, ipVersion: 6 },
    'spec.ipVersion',
    `spec.ipVersion 6 does not match the family of spec.subnet ${subnet}`,
  ],
  [
    'ips entries are addresses or ranges',
    'ippool',
    { subnet, ips: ['198.18.0.10', '198.18.0.20-'] },
    'spec.ips[1]',
    '198.18.0.20- is not an IP address or a range first-last',
  ],
  [
    'ips lie inside the subnet',
    'ippool',
    { subnet, ips: ['198.18.0.10-198.18.1.5'] },
    'spec.ips',
    `spec.ips: every address and range must lie inside spec.subnet ${subnet}`,
  ],
  [
    'ips of the other family are outside the subnet',
    'ippool',
    { subnet, ips: ['fd00::1'] },
    'spec.ips',
    'must lie inside spec.subnet',
  ],
  [
    'excludeIPs lie inside the subnet',
    'ippool',
    { subnet, excludeIPs: ['10.0.0.1'] },
    'spec.excludeIPs',
    `spec.excludeIPs: every address and range must lie inside spec.subnet ${subnet}`,
  ],
  [
    'gateway is an address',
    'ippool',
    { subnet, gateway: '198.18.0.1/24' },
    'spec.gateway',
    '198.18.0.1/24 is not an IP address',
  ],
  [
    'gateway lies inside the subnet',
    'ippool',
    { subnet, gateway: '198.18.1.1' },
    'spec.gateway',
    `spec.gateway 198.18.1.1 is not inside spec.subnet ${subnet}`,
  ],
  [
    'route dst is a CIDR',
    'ippool',
    { subnet, routes: [{ dst: '10.0.0.0', gw: '198.18.0.1' }] },
    'spec.routes[0].dst',
    '10.0.0.0 is not a CIDR',
  ],
  [
    'route gw is an address',
    'ippool',
    { subnet, routes: [{ dst: '10.0.0.0/8', gw: 'router' }] },
    'spec.routes[0].gw',
    'router is not an IP address',
  ],
  [
    'route gw lies inside the subnet',
    'ippool',
    { subnet, routes: [{ dst: '10.0.0.0/8', gw: '10.0.0.1' }] },
    'spec.routes',
    `every gw must lie inside spec.subnet ${subnet}`,
  ],
  [
    'route dst is not a default route',
    'ippool',
    { subnet, routes: [{ dst: '0.0.0.0/0', gw: '198.18.0.1' }] },
    'spec.routes',
    'not a default route (use spec.gateway)',
  ],
  [
    'route dst has the subnet family',
    'ippool',
    { subnet, routes: [{ dst: 'fd00::/8', gw: '198.18.0.1' }] },
    'spec.routes',
    'every dst must be a CIDR of the family of spec.subnet',
  ],
  ['subnet is required', 'ippool', {}, 'spec.subnet', 'Required value'],
  [
    'SpiderSubnet: subnet is canonical',
    'subnet',
    { subnet: '198.18.0.9/24' },
    'spec.subnet',
    '198.18.0.9/24 is not',
  ],
  [
    'SpiderSubnet: ips inside the subnet',
    'subnet',
    { subnet, ips: ['198.19.0.1'] },
    'spec.ips',
    `every address and range must lie inside spec.subnet ${subnet}`,
  ],
  [
    'SpiderReservedIP: entries are addresses or ranges',
    'reservedip',
    { ips: ['198.18.0.0/24'] },
    'spec.ips[0]',
    '198.18.0.0/24 is not an IP address or a range',
  ],
  [
    'SpiderReservedIP: entries have the family of ipVersion',
    'reservedip',
    { ipVersion: 6, ips: ['198.18.0.1-198.18.0.9'] },
    'spec.ips',
    'spec.ips must all be IPv6 addresses',
  ],
];

test.each(badObjects)('%s', async (_rule, kind, spec, field, text) => {
  const message = await refusal(() => create(kind, spec));
  expect(message).toContain(`${field}:`);
  expect(message).toContain(text);
});

test('a pool using every field well passes every rule', async () => {
  const name = await create('ippool', {
    ipVersion: 4,
    subnet,
    ips: ['198.18.0.10-198.18.0.20', '198.18.0.30'],
    excludeIPs: ['198.18.0.15'],
    gateway: '198.18.0.1',
    routes: [{ dst: '10.0.0.0/8', gw: '198.18.0.1' }],
  });
  const v6 = await create('ippool', {
    subnet: 'fd00:18::/64',
    ips: ['fd00:18::10-fd00:18::ff'],
    gateway: 'fd00:18::1',
  });
  expect([name, v6]).toHaveLength(2);
  await create('reservedip', { ipVersion: 4, ips: ['198.18.0.1', '198.18.0.250-198.18.0.254'] });
  await create('subnet', { subnet, ips: ['198.18.0.2-198.18.0.254'], gateway: '198.18.0.1' });
});

describe('immutable fields', () => {
  let name: string;
  const replace = (spec: Record<string, unknown>) =>
    objects().patchClusterCustomObject({
      ...target('ippool'),
      name,
      body: [{ op: 'replace', path: '/spec', value: spec }],
    });

  beforeAll(async () => {
    name = await create('ippool', { ipVersion: 4, subnet, ips: ['198.18.0.10'] });
  });

  test('subnet cannot change', async () => {
    const message = await refusal(() => replace({ ipVersion: 4, subnet: '198.18.1.0/24' }));
    expect(message).toContain('spec.subnet: Forbidden: is immutable');
  });

  test('ipVersion cannot change', async () => {
    const message = await refusal(() => replace({ ipVersion: 6, subnet }));
    expect(message).toContain('spec.ipVersion: Forbidden: is immutable');
  });

  test('ipVersion cannot be removed', async () => {
    const message = await refusal(() => replace({ subnet }));
    expect(message).toContain('spec.ipVersion: Forbidden: spec.ipVersion is immutable: it cannot be removed');
  });

  test('other fields still change', async () => {
    await replace({ ipVersion: 4, subnet, ips: ['198.18.0.10', '198.18.0.11'], disable: true });
    const pool = (await objects().getClusterCustomObject({ ...target('ippool'), name })) as {
      spec: { ips: string[] };
    };
    expect(pool.spec.ips).toEqual(['198.18.0.10', '198.18.0.11']);
  });

  test('a changed spec is checked again (the list rules skip only an unchanged spec)', async () => {
    const message = await refusal(() => replace({ ipVersion: 4, subnet, ips: ['198.18.0.10', '10.1.1.1'] }));
    expect(message).toContain('spec.ips: Invalid value');
    expect(message).toContain(`every address and range must lie inside spec.subnet ${subnet}`);
  });

  test('status writes leave the spec alone and pass', async () => {
    const pool = (await objects().getClusterCustomObject({ ...target('ippool'), name })) as Record<
      string,
      unknown
    >;
    const written = (await objects().replaceClusterCustomObjectStatus({
      ...target('ippool'),
      name,
      body: { ...pool, status: { allocatedIPCount: 1, totalIPCount: 2 } },
    })) as { status: { allocatedIPCount: number } };
    expect(written.status.allocatedIPCount).toBe(1);
  });

  test('a pool created without ipVersion may get one (the webhook fills it)', async () => {
    const bare = await create('ippool', { subnet });
    await objects().patchClusterCustomObject({
      ...target('ippool'),
      name: bare,
      body: [{ op: 'add', path: '/spec/ipVersion', value: 4 }],
    });
  });
});
