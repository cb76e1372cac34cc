// The CEL rules of the CRDs alone (no webhooks), against the real API server: good objects pass,
// immutable fields stay, status writes and metadata-only changes are not held up. Every rule's
// refusal, naming the field, is in test/integration/operator/invalid-resources.test.ts.
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
