// Every validation rule of the CRDs (OpenAPI and CEL) and of the operator's admission webhooks has a
// bad object here that the real API server refuses, with the installation's CRDs, RBAC and webhook
// configurations as synthesized and the operator serving the webhooks as its service account. The
// message must name the field (and the value, where the rule has one).
//
// The list of rules comes from the source, so a rule added later without a case fails:
// - OpenAPI constraints (enum, minimum, maximum, maxLength, maxItems, required...) are read from the
//   synthesized CRDs and each gets a generated bad object;
// - CEL rules are read from the same CRDs; each one's message must be covered by a written case;
// - webhook checks are counted at their call sites in the rule modules, and each file's count must
//   equal the number of distinct checks the written cases cover in it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustomObjectsApi, type KubernetesObject } from '@kubernetes/client-node';
import { apiVersion, group, kinds, version } from '../../../api/index.js';
import type { StructuralSchema } from '../../../api/schema/crd-schema.js';
import { multusConfigAnnotations } from '../../../api/schema/multus-config.js';
import { repoRoot } from '../../../build/executables.js';
import { eventually } from '../../harness/wait.js';
import {
  installationObjects,
  refusal,
  startWebhookCluster,
  type WebhookCluster,
} from './fixtures/webhook-cluster.js';

type KindKey = keyof typeof kinds;

let env: WebhookCluster;
let objects: CustomObjectsApi;
const ns = 'default';
let serial = 0;

beforeAll(async () => {
  env = await startWebhookCluster({
    identity: 'invalid-op',
    conf: {
      enableIPv6: false,
      enableSpiderSubnet: true,
      enableValidatingResourcesDeletedWebhook: true,
      gc: { intervalSeconds: 3600 },
    },
  });
  objects = env.cluster.kc.makeApiClient(CustomObjectsApi);
  await eventually(
    'the webhooks answering',
    () =>
      create('ippool', { subnet: '198.18.0.0/24', ips: ['198.18.0.10-198.18.0.20'] }, 'base').then(
        () => true,
      ),
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}, 120_000);

afterAll(() => env?.stop());

// ---- API access ------------------------------------------------------------------------------

const ref = (kind: KindKey) => ({ group, version, plural: kinds[kind].plural });

function create(kind: KindKey, spec: unknown, name?: string, metadata: Record<string, unknown> = {}) {
  const k = kinds[kind];
  const body = {
    apiVersion,
    kind: k.kind,
    metadata: { name: name ?? `${k.singular}-${++serial}`, ...metadata },
    ...(spec === undefined ? {} : { spec }),
  };
  return k.namespaced
    ? objects.createNamespacedCustomObject({ ...ref(kind), namespace: ns, body })
    : objects.createClusterCustomObject({ ...ref(kind), body });
}

type Op = { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown };

function patch(kind: KindKey, name: string, ops: Op[], status = false) {
  const k = kinds[kind];
  const args = { ...ref(kind), name, body: ops };
  if (k.namespaced)
    return status
      ? objects.patchNamespacedCustomObjectStatus({ ...args, namespace: ns })
      : objects.patchNamespacedCustomObject({ ...args, namespace: ns });
  return status ? objects.patchClusterCustomObjectStatus(args) : objects.patchClusterCustomObject(args);
}

/** Creates a good object (it must pass), then returns the action that patches it badly. */
function createThenPatch(kind: KindKey, spec: unknown, ops: Op[], status = false) {
  return async () => {
    const made = (await create(kind, spec)) as KubernetesObject;
    return patch(kind, made.metadata?.name as string, ops, status);
  };
}

// ---- the rules, read from the synthesized CRDs -------------------------------------------------

interface CrdObject {
  kind: string;
  spec: {
    names: { kind: string };
    versions: Array<{ schema: { openAPIV3Schema: StructuralSchema }; subresources?: { status?: object } }>;
  };
}

const crds = installationObjects(['crds'])
  .filter((o) => o.kind === 'CustomResourceDefinition')
  .map((o) => o as unknown as CrdObject)
  .filter((c) => Object.values(kinds).some((k) => k.kind === c.spec.names.kind));

const kindKeyOf = (kind: string) =>
  (Object.keys(kinds) as KindKey[]).find((k) => kinds[k].kind === kind) as KindKey;

/** A path below the object, e.g. ['spec', 'routes', 0, 'dst']. */
type Path = Array<string | 0>;
const showPath = (path: Path) => path.map((p, i) => (p === 0 ? '[0]' : i === 0 ? p : `.${p}`)).join('');

interface OpenApiConstraint {
  kind: string;
  path: Path;
  keyword: string;
  schema: StructuralSchema;
}

const valueKeywords = [
  'enum',
  'minimum',
  'maximum',
  'maxLength',
  'minLength',
  'maxItems',
  'minItems',
  'pattern',
];

function walk(
  kind: string,
  schema: StructuralSchema,
  path: Path,
  visit: (schema: StructuralSchema, path: Path) => void,
): void {
  visit(schema, path);
  for (const [name, child] of Object.entries(schema.properties ?? {}))
    walk(kind, child, [...path, name], visit);
  if (schema.items) walk(kind, schema.items, [...path, 0], visit);
}

const openApiConstraints: OpenApiConstraint[] = [];
/** CEL rules by message, with where they are. */
const celRules = new Map<string, { rule: string; at: string[] }>();
for (const crd of crds) {
  const kind = crd.spec.names.kind;
  for (const v of crd.spec.versions)
    walk(kind, v.schema.openAPIV3Schema, [], (schema, path) => {
      for (const keyword of valueKeywords)
        if (schema[keyword as keyof StructuralSchema] !== undefined)
          openApiConstraints.push({ kind, path, keyword, schema });
      for (const name of schema.required ?? [])
        openApiConstraints.push({ kind, path: [...path, name], keyword: 'required', schema });
      for (const rule of schema['x-kubernetes-validations'] ?? []) {
        const key = rule.message ?? rule.rule;
        const known = celRules.get(key);
        if (known && known.rule !== rule.rule)
          throw new Error(`two different CEL rules share the message "${key}": give each its own`);
        celRules.set(key, { rule: rule.rule, at: [...(known?.at ?? []), `${kind}${showPath(path)}`] });
      }
    });
}

/** A value that breaks `keyword` of `schema`, and the text the message must show for it. */
function badValue(c: OpenApiConstraint): { value: unknown; shows?: string } {
  const s = c.schema;
  switch (c.keyword) {
    case 'enum': {
      const bad = s.type === 'integer' ? 5 : s.type === 'boolean' ? 'yes' : 'not-an-option';
      if ((s.enum ?? []).includes(bad)) throw new Error(`${c.kind}: pick another value outside the enum`);
      return { value: bad, shows: JSON.stringify(bad) };
    }
    case 'minimum':
      return { value: (s.minimum as number) - 1, shows: String((s.minimum as number) - 1) };
    case 'maximum':
      return { value: (s.maximum as number) + 1, shows: String((s.maximum as number) + 1) };
    case 'maxLength':
      return { value: '1'.repeat((s.maxLength as number) + 1) };
    case 'minLength':
      return { value: '' };
    case 'maxItems': {
      // Distinct, non-adjacent addresses: the mutating webhook merges equal and adjacent ones.
      const item = (i: number) =>
        s.items?.type === 'object'
          ? {}
          : s.items?.type === 'string'
            ? `198.18.${i >> 7}.${(i & 127) * 2}`
            : 0;
      return {
        value: Array.from({ length: (s.maxItems as number) + 1 }, (_, i) => item(i)),
        shows: 'Too many',
      };
    }
    case 'minItems':
      return { value: [] };
    case 'pattern':
      return { value: '\u0000', shows: '\\x00' };
    default:
      throw new Error(`no bad value for ${c.keyword}`);
  }
}

/** The object with the bad value at `path` (for `required`: that field left out of its parent). */
function objectWith(path: Path, keyword: string, value: unknown): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let here: Record<string, unknown> | unknown[] = root;
  const last = keyword === 'required' ? path.length - 1 : path.length;
  for (let i = 0; i < last; i++) {
    const key = path[i] as string | 0;
    const next = i === path.length - 1 ? value : path[i + 1] === 0 ? [] : {};
    (here as Record<string | number, unknown>)[key] = next;
    here = next as Record<string, unknown> | unknown[];
  }
  return root;
}

// ---- OpenAPI: one generated case per constraint ------------------------------------------------

const subresourceStatus = (kind: string) =>
  crds.find((c) => c.spec.names.kind === kind)?.spec.versions.some((v) => v.subresources?.status) ?? false;

/** A good object of `kind` to write a bad status onto (status subresources ignore status on create). */
const goodSpec: Partial<Record<KindKey, () => unknown>> = {
  ippool: () => ({ subnet: '198.18.0.0/24' }),
  // SpiderSubnets may not overlap: each gets its own.
  subnet: () => ({ subnet: `198.19.${++serial % 256}.0/24` }),
};

/** What a generated spec needs for the field to be kept (a custom network loses spec.coordinator). */
function withContext(kind: KindKey, path: Path, spec: unknown): unknown {
  if (kind === 'multusConfig' && path[1] === 'coordinator')
    return { cniType: 'macvlan', macvlan: { master: ['eth0'] }, ...(spec as object) };
  return spec;
}

describe('OpenAPI constraints of the CRDs, each with a generated bad object', () => {
  test('there are constraints to check (the walk found the schemas)', () => {
    expect(crds.map((c) => c.spec.names.kind).sort()).toEqual(
      Object.values(kinds)
        .map((k) => k.kind)
        .sort(),
    );
    expect(openApiConstraints.length).toBeGreaterThan(50);
  });

  test.each(
    openApiConstraints.map((c) => [`${c.kind} ${showPath(c.path) || '(root)'} ${c.keyword}`, c] as const),
  )('%s', async (_name, c) => {
    const kind = kindKeyOf(c.kind);
    const field = showPath(c.path);
    const bad = c.keyword === 'required' ? { value: undefined } : badValue(c);
    const object = objectWith(c.path, c.keyword, bad.value);
    let act: () => Promise<unknown>;
    if (c.path[0] === 'status' && subresourceStatus(c.kind)) {
      const status = object.status ?? {};
      act =
        kind === 'coordinator'
          ? // The singleton the operator made; a bad status is refused whatever it holds.
            async () => {
              await eventually('SpiderCoordinator default', () =>
                objects.getClusterCustomObject({ ...ref(kind), name: 'default' }),
              );
              return patch(kind, 'default', [{ op: 'add', path: '/status', value: status }], true);
            }
          : createThenPatch(kind, goodSpec[kind]?.(), [{ op: 'add', path: '/status', value: status }], true);
    } else if (c.path[0] === 'status') {
      act = () =>
        objects.createNamespacedCustomObject({
          ...ref(kind),
          namespace: ns,
          body: {
            apiVersion,
            kind: c.kind,
            metadata: { name: `${kinds[kind].singular}-${++serial}` },
            ...object,
          },
        });
    } else {
      act = () =>
        create(kind, withContext(kind, c.path, object.spec), kind === 'coordinator' ? 'default' : undefined);
    }
    const message = await refusal(act);
    expect(message).toContain(
      field === 'spec' || field === 'status' ? `${field}: Required value` : `${field}:`,
    );
    if (bad.shows) expect(message).toContain(bad.shows);
  });
});

// ---- CEL rules and webhook checks: written cases ----------------------------------------------

interface Case {
  name: string;
  /** The CEL rules (by message) and webhook checks (`file#check`) this case makes fire. */
  covers: string[];
  act: () => Promise<unknown>;
  /** The field the message names. */
  field: string;
  /**
   * The value (or the part of it) the message shows. Rules on integers show none: a
   * messageExpression with string(int) exceeds the API server's CEL cost budget for the CRD.
   */
  value?: string;
}

const pool = (spec: Record<string, unknown>) => () => create('ippool', spec);
const subnetObject = (spec: Record<string, unknown>) => () => create('subnet', spec);
const reserved = (spec: Record<string, unknown>) => () => create('reservedip', spec);
const smc = (spec: Record<string, unknown>, annotations?: Record<string, string>) => () =>
  create('multusConfig', spec, undefined, annotations ? { annotations } : {});
const macvlan = { cniType: 'macvlan', macvlan: { master: ['eth0'] } };
const withCoordinator = (coordinator: Record<string, unknown>) => smc({ ...macvlan, coordinator });

const blockCases = (['macvlan', 'ipvlan', 'vlan', 'sriov', 'ovs', 'ib-sriov', 'ipoib'] as const).flatMap(
  (type) => {
    const block = type === 'ib-sriov' ? 'ibsriov' : type;
    const good: Record<string, unknown> = {
      macvlan: { master: ['eth0'] },
      ipvlan: { master: ['eth0'] },
      vlan: { master: ['eth0'], vlanID: 10 },
      sriov: { resourceName: 'vendor.com/vf' },
      ovs: { bridge: 'br0' },
      ibsriov: { resourceName: 'vendor.com/ib' },
      ipoib: { master: 'ib0' },
    };
    const other = type === 'macvlan' ? 'ipvlan' : 'macvlan';
    return [
      {
        name: `cniType ${type} without spec.${block}`,
        covers: [`spec.${block} is required when spec.cniType is ${type}`, 'multus/render.ts#block-required'],
        act: smc({ cniType: type }),
        field: `spec.${block}`,
      },
      {
        name: `spec.${block} beside cniType ${other}`,
        covers: [`spec.${block} is only allowed when spec.cniType is ${type}`],
        act: smc({ cniType: other, [other]: good[other], [block]: good[block] }),
        field: `spec.${block}`,
        value: other,
      },
    ] satisfies Case[];
  },
);

const masterCases = (['macvlan', 'ipvlan', 'vlan'] as const).flatMap(
  (block) =>
    [
      {
        name: `spec.${block}.master empty`,
        covers: [`spec.${block}.master needs at least one interface`],
        act: smc({ cniType: block, [block]: { master: [] } }),
        field: `spec.${block}.master`,
      },
      {
        name: `spec.${block} with two masters and no bond`,
        covers: [
          `spec.${block}.bond is required with several masters (they are bonded)`,
          'multus/render.ts#bond',
        ],
        act: smc({ cniType: block, [block]: { master: ['eth0', 'eth1'] } }),
        field: `spec.${block}.bond`,
      },
      {
        name: `spec.${block}.ippools.matchMasterSubnet`,
        covers: [`spec.${block}.ippools.matchMasterSubnet is not supported for ${block}`],
        act: smc({ cniType: block, [block]: { master: ['eth0'], ippools: { matchMasterSubnet: true } } }),
        field: `spec.${block}.ippools.matchMasterSubnet`,
      },
    ] satisfies Case[],
);

const v4 = '198.18.0.0/24';
const cases: Case[] = [
  // Pools and subnets: the address rules (CEL first; the webhook's own check where CEL has none).
  {
    name: 'ipVersion of the other family',
    covers: [
      'spec.ipVersion must be the address family of spec.subnet',
      'ipam/validation/address-spec.ts#family-mismatch',
    ],
    act: pool({ subnet: '198.18.1.0/24', ipVersion: 6 }),
    field: 'spec.ipVersion',
    value: '6',
  },
  {
    name: 'ipVersion 5',
    covers: ['ipam/validation/address-spec.ts#ipversion-value'],
    act: pool({ subnet: '198.18.1.0/24', ipVersion: 5 }),
    field: 'spec.ipVersion',
    value: '5',
  },
  {
    name: 'a SpiderReservedIP with no ipVersion and no address to take it from',
    covers: ['ipam/validation/address-spec.ts#ipversion-required'],
    act: reserved({}),
    field: 'spec.ipVersion',
  },
  {
    name: 'ipVersion removed (nothing to fill it from)',
    covers: ['spec.ipVersion is immutable: it cannot be removed once set'],
    act: createThenPatch('reservedip', { ipVersion: 4 }, [{ op: 'remove', path: '/spec/ipVersion' }]),
    field: 'spec.ipVersion',
  },
  {
    name: 'a family conf.yml disables',
    covers: ['ipam/validation/address-spec.ts#family-disabled'],
    act: pool({ subnet: 'fd00:18::/64' }),
    field: 'spec.ipVersion',
    value: 'IPv6 is disabled',
  },
  {
    name: 'subnet not in canonical form',
    covers: [
      'must be a network in canonical CIDR form, e.g. 172.18.40.0/24',
      'ipam/validation/address-spec.ts#subnet',
    ],
    act: pool({ subnet: '198.18.1.1/24' }),
    field: 'spec.subnet',
    value: '198.18.1.1/24',
  },
  {
    name: 'subnet changed',
    covers: ['is immutable', 'operator/webhook/rules.ts#immutable'],
    act: createThenPatch('subnet', { subnet: '198.18.60.0/24' }, [
      { op: 'replace', path: '/spec/subnet', value: '198.18.61.0/24' },
    ]),
    field: 'spec.subnet',
  },
  {
    name: 'an ips entry that is neither an address nor a range',
    covers: ['must be an IP address or a range first-last, e.g. 172.18.40.10 or 172.18.40.10-172.18.40.20'],
    act: pool({ subnet: '198.18.1.0/24', ips: ['198.18.1.10-'] }),
    field: 'spec.ips[0]',
    value: '198.18.1.10-',
  },
  {
    name: 'a range whose first address is after its last',
    covers: ['ipam/validation/address-spec.ts#range-entry'],
    act: pool({ subnet: '198.18.1.0/24', ips: ['198.18.1.20-198.18.1.10'] }),
    field: 'spec.ips[0]',
    value: '198.18.1.20-198.18.1.10',
  },
  {
    name: 'ips outside the subnet',
    covers: [
      'spec.ips: every address and range must lie inside spec.subnet',
      'ipam/validation/address-spec.ts#range-inside',
    ],
    act: pool({ subnet: '198.18.1.0/24', ips: ['198.18.2.1'] }),
    field: 'spec.ips',
    value: '198.18.1.0/24',
  },
  {
    name: 'excludeIPs outside the subnet',
    covers: ['spec.excludeIPs: every address and range must lie inside spec.subnet'],
    act: subnetObject({ subnet: '198.18.1.0/24', excludeIPs: ['10.0.0.1'] }),
    field: 'spec.excludeIPs',
    value: '198.18.1.0/24',
  },
  {
    name: 'gateway not an address',
    covers: ['must be an IP address', 'ipam/validation/address-spec.ts#gateway'],
    act: pool({ subnet: '198.18.1.0/24', gateway: '198.18.1.1/24' }),
    field: 'spec.gateway',
    value: '198.18.1.1/24',
  },
  {
    name: 'gateway outside the subnet',
    covers: ['spec.gateway must lie inside spec.subnet', 'ipam/validation/address-spec.ts#gateway-inside'],
    act: pool({ subnet: '198.18.1.0/24', gateway: '198.18.2.1' }),
    field: 'spec.gateway',
    value: '198.18.2.1',
  },
  {
    name: 'gateway among the addresses handed out',
    covers: ['ipam/validation/address-spec.ts#gateway-handed-out'],
    act: pool({ subnet: '198.18.1.0/24', ips: ['198.18.1.1-198.18.1.9'], gateway: '198.18.1.1' }),
    field: 'spec.gateway',
    value: '198.18.1.1',
  },
  {
    name: 'route dst not a CIDR',
    covers: ['must be a CIDR, e.g. 10.0.0.0/16', 'ipam/validation/address-spec.ts#route-dst'],
    act: pool({ subnet: '198.18.1.0/24', routes: [{ dst: '10.0.0.0', gw: '198.18.1.1' }] }),
    field: 'spec.routes[0].dst',
    value: '10.0.0.0',
  },
  {
    name: 'route gw not an address',
    covers: ['ipam/validation/address-spec.ts#route-gw'],
    act: pool({ subnet: '198.18.1.0/24', routes: [{ dst: '10.0.0.0/8', gw: 'router' }] }),
    field: 'spec.routes[0].gw',
    value: 'router',
  },
  {
    name: 'route gw outside the subnet',
    covers: [
      'spec.routes: every gw must lie inside spec.subnet',
      'ipam/validation/address-spec.ts#route-gw-inside',
    ],
    act: pool({ subnet: '198.18.1.0/24', routes: [{ dst: '10.0.0.0/8', gw: '10.0.0.1' }] }),
    field: 'spec.routes',
    value: '198.18.1.0/24',
  },
  {
    name: 'a default route',
    covers: [
      'spec.routes: every dst must be a CIDR of the family of spec.subnet and not a default route (use spec.gateway)',
      'ipam/validation/address-spec.ts#route-default',
    ],
    act: pool({ subnet: '198.18.1.0/24', routes: [{ dst: '0.0.0.0/0', gw: '198.18.1.1' }] }),
    field: 'spec.routes',
  },
  {
    name: 'two routes to one dst',
    covers: ['ipam/validation/address-spec.ts#route-duplicate'],
    act: pool({
      subnet: '198.18.1.0/24',
      routes: [
        { dst: '10.0.0.0/8', gw: '198.18.1.1' },
        { dst: '10.0.0.0/8', gw: '198.18.1.2' },
      ],
    }),
    field: 'spec.routes[1].dst',
    value: '10.0.0.0/8',
  },
  // Pools among the others.
  {
    name: 'a pool subnet overlapping another pool written differently',
    covers: ['ipam/validation/pool.ts#overlap'],
    act: pool({ subnet: '198.18.0.0/23' }),
    field: 'spec.subnet',
    value: '198.18.0.0/23',
  },
  {
    name: 'a pool sharing addresses with another of its subnet',
    covers: ['ipam/validation/pool.ts#shared'],
    act: pool({ subnet: v4, ips: ['198.18.0.15-198.18.0.30'] }),
    field: 'spec.ips',
    value: '198.18.0.15-198.18.0.20',
  },
  {
    name: 'a pool taking addresses its SpiderSubnet does not have (enableSpiderSubnet)',
    covers: ['ipam/validation/pool.ts#subnet-ips'],
    act: async () => {
      await create('subnet', { subnet: '198.18.40.0/24', ips: ['198.18.40.10-198.18.40.19'] });
      return create('ippool', { subnet: '198.18.40.0/24', ips: ['198.18.40.15-198.18.40.25'] });
    },
    field: 'spec.ips',
    value: '198.18.40.20-198.18.40.25',
  },
  {
    name: 'a pool whose records cannot be read changes its addresses',
    covers: ['ipam/validation/pool.ts#records-unreadable'],
    act: async () => {
      const made = (await create('ippool', {
        subnet: '198.18.41.0/24',
        ips: ['198.18.41.10'],
      })) as KubernetesObject;
      const name = made.metadata?.name as string;
      await patch(
        'ippool',
        name,
        [{ op: 'add', path: '/status', value: { allocatedIPs: 'not json' } }],
        true,
      );
      return patch('ippool', name, [{ op: 'replace', path: '/spec/ips', value: ['198.18.41.11'] }]);
    },
    field: 'status.allocatedIPs',
  },
  {
    name: 'an allocated address leaving its pool',
    covers: ['ipam/validation/pool.ts#allocated-leaves'],
    act: async () => {
      const made = (await create('ippool', {
        subnet: '198.18.42.0/24',
        ips: ['198.18.42.10'],
      })) as KubernetesObject;
      const name = made.metadata?.name as string;
      const records = { '198.18.42.10': { pod: 'default/web-1', podUid: 'uid-1' } };
      const status = { allocatedIPs: JSON.stringify(records), allocatedIPCount: 1 };
      await patch('ippool', name, [{ op: 'add', path: '/status', value: status }], true);
      return patch('ippool', name, [{ op: 'replace', path: '/spec/ips', value: ['198.18.42.11'] }]);
    },
    field: 'spec.ips',
    value: '198.18.42.10',
  },
  {
    name: 'a pool with allocations deleted (enableValidatingResourcesDeletedWebhook)',
    covers: ['operator/webhook/handlers.ts#pool-delete'],
    act: async () => {
      const made = (await create('ippool', {
        subnet: '198.18.43.0/24',
        ips: ['198.18.43.10'],
      })) as KubernetesObject;
      const name = made.metadata?.name as string;
      const records = { '198.18.43.10': { pod: 'default/web-1', podUid: 'uid-1' } };
      await patch(
        'ippool',
        name,
        [{ op: 'add', path: '/status', value: { allocatedIPs: JSON.stringify(records) } }],
        true,
      );
      return objects.deleteClusterCustomObject({ ...ref('ippool'), name });
    },
    field: 'metadata.name',
    value: '1 allocated addresses',
  },
  {
    name: 'a terminating pool updated',
    covers: ['operator/webhook/rules.ts#terminating'],
    act: async () => {
      const made = (await create('ippool', { subnet: '198.18.44.0/24' })) as KubernetesObject;
      const name = made.metadata?.name as string;
      // Records that cannot be read keep the finalizer on (the operator leaves such a pool alone)
      // and count as none for the deletion guard.
      await patch(
        'ippool',
        name,
        [{ op: 'add', path: '/status', value: { allocatedIPs: 'not json' } }],
        true,
      );
      await objects.deleteClusterCustomObject({ ...ref('ippool'), name });
      return patch('ippool', name, [{ op: 'add', path: '/spec/disable', value: true }]);
    },
    field: 'metadata.deletionTimestamp',
    value: 'is terminating',
  },
  // Subnets among the others.
  {
    name: 'a SpiderSubnet overlapping another',
    covers: ['ipam/validation/subnet.ts#overlap-subnet'],
    act: async () => {
      await create('subnet', { subnet: '198.18.50.0/24' });
      return create('subnet', { subnet: '198.18.50.0/23' });
    },
    field: 'spec.subnet',
    value: '198.18.50.0/23',
  },
  {
    name: 'a SpiderSubnet containing a pool of another CIDR',
    covers: ['ipam/validation/subnet.ts#overlap-pool'],
    act: subnetObject({ subnet: '198.18.0.0/22' }),
    field: 'spec.subnet',
    value: '198.18.0.0/22',
  },
  {
    name: 'a SpiderSubnet without the addresses of a pool of its CIDR',
    covers: ['ipam/validation/subnet.ts#pool-ips'],
    act: subnetObject({ subnet: v4, ips: ['198.18.0.10-198.18.0.15'] }),
    field: 'spec.ips',
    value: '198.18.0.16-198.18.0.20',
  },
  {
    name: 'a SpiderSubnet that still owns a pool deleted (enableValidatingResourcesDeletedWebhook)',
    covers: ['operator/webhook/handlers.ts#subnet-delete'],
    act: async () => {
      const s = (await create('subnet', {
        subnet: '198.18.45.0/24',
        ips: ['198.18.45.10'],
      })) as KubernetesObject;
      const name = s.metadata?.name as string;
      await create('ippool', { subnet: '198.18.45.0/24', ips: ['198.18.45.10'] }, undefined, {
        labels: { 'ipam.spidernet.io/owner-spider-subnet': name },
      });
      return objects.deleteClusterCustomObject({ ...ref('subnet'), name });
    },
    field: 'metadata.name',
    value: 'still owns pools',
  },
  // SpiderReservedIP.
  {
    name: 'a reserved address of the other family',
    covers: ['spec.ips must all be addresses of the family spec.ipVersion names'],
    act: reserved({ ipVersion: 6, ips: ['198.18.0.1'] }),
    field: 'spec.ips',
    value: 'IPv6',
  },
  {
    name: 'a reserved range whose first address is after its last',
    covers: ['ipam/validation/reserved-ip.ts#entry'],
    act: reserved({ ipVersion: 4, ips: ['198.18.0.9-198.18.0.1'] }),
    field: 'spec.ips[0]',
    value: '198.18.0.9-198.18.0.1',
  },
  // Selectors.
  {
    name: 'an empty podAffinity',
    covers: ['ipam/validation/selectors.ts#empty'],
    act: pool({ subnet: '198.18.46.0/24', podAffinity: {} }),
    field: 'spec.podAffinity',
    value: '{}',
  },
  {
    name: 'a matchLabels key Kubernetes refuses',
    covers: ['ipam/validation/selectors.ts#match-labels'],
    act: pool({ subnet: '198.18.46.0/24', nodeAffinity: { matchLabels: { 'a/b/c': 'x' } } }),
    field: 'spec.nodeAffinity.matchLabels',
    value: 'a/b/c',
  },
  {
    name: 'an unknown selector operator',
    covers: ['ipam/validation/selectors.ts#shape'],
    act: pool({
      subnet: '198.18.46.0/24',
      nodeAffinity: { matchExpressions: [{ key: 'zone', operator: 'Near', values: ['a'] }] },
    }),
    field: 'spec.nodeAffinity.matchExpressions[0].operator',
    value: 'Near',
  },
  {
    name: 'a selector expression key Kubernetes refuses',
    covers: ['ipam/validation/selectors.ts#expression-key'],
    act: pool({
      subnet: '198.18.46.0/24',
      namespaceAffinity: { matchExpressions: [{ key: '-zone', operator: 'Exists' }] },
    }),
    field: 'spec.namespaceAffinity.matchExpressions[0].key',
    value: '-zone',
  },
  {
    name: 'a selector expression value Kubernetes refuses',
    covers: ['ipam/validation/selectors.ts#expression-value'],
    act: pool({
      subnet: '198.18.46.0/24',
      namespaceAffinity: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a b'] }] },
    }),
    field: 'spec.namespaceAffinity.matchExpressions[0].values[0]',
    value: 'a b',
  },
  // SpiderMultusConfig.
  ...blockCases,
  ...masterCases,
  {
    name: 'customCNI beside cniType macvlan',
    covers: ['spec.customCNI is only allowed when spec.cniType is custom'],
    act: smc({ ...macvlan, customCNI: '{}' }),
    field: 'spec.customCNI',
  },
  {
    name: 'customCNI that is not JSON',
    covers: ['multus/render.ts#custom-json', 'multus/admission.ts#render'],
    act: smc({ cniType: 'custom', customCNI: '{not json' }),
    field: 'spec.customCNI',
    value: '{not json',
  },
  {
    name: 'an empty bond name',
    covers: ['bond.name can not be empty'],
    act: smc({ cniType: 'macvlan', macvlan: { master: ['eth0', 'eth1'], bond: { name: '', mode: 1 } } }),
    field: 'spec.macvlan.bond.name',
  },
  {
    name: 'vlanID with vlanMode auto',
    covers: ['spec.vlan.vlanID must not be set when spec.vlan.vlanMode is auto'],
    act: smc({ cniType: 'vlan', vlan: { master: ['eth0'], vlanMode: 'auto', vlanID: 100 } }),
    field: 'spec.vlan.vlanID',
  },
  {
    name: 'sriov without resourceName',
    covers: ['spec.sriov.resourceName is required'],
    act: smc({ cniType: 'sriov', sriov: {} }),
    field: 'spec.sriov.resourceName',
  },
  {
    name: 'sriov minTxRateMbps above maxTxRateMbps',
    covers: ['spec.sriov.minTxRateMbps must not exceed spec.sriov.maxTxRateMbps'],
    act: smc({
      cniType: 'sriov',
      sriov: { resourceName: 'vendor.com/vf', minTxRateMbps: 200, maxTxRateMbps: 100 },
    }),
    field: 'spec.sriov.minTxRateMbps',
  },
  {
    name: 'an ovs trunk with minID above maxID',
    covers: ['spec.ovs.trunk[]: minID must not exceed maxID'],
    act: smc({ cniType: 'ovs', ovs: { bridge: 'br0', trunk: [{ minID: 10, maxID: 5 }] } }),
    field: 'spec.ovs.trunk[0].minID',
  },
  {
    name: 'ib-sriov without resourceName',
    covers: ['spec.ibsriov.resourceName is required'],
    act: smc({ cniType: 'ib-sriov', ibsriov: {} }),
    field: 'spec.ibsriov.resourceName',
  },
  {
    name: 'ipoib without master',
    covers: ['spec.ipoib.master is required'],
    act: smc({ cniType: 'ipoib', ipoib: {} }),
    field: 'spec.ipoib.master',
  },
  {
    name: 'a NAD name that is not a DNS-1123 subdomain',
    covers: ['multus/admission.ts#cr-name'],
    act: smc(macvlan, { [multusConfigAnnotations.crName]: 'Not_A_Name' }),
    field: `metadata.annotations[${multusConfigAnnotations.crName}]`,
    value: 'Not_A_Name',
  },
  {
    name: 'a NAD name changed after creation',
    covers: ['multus/admission.ts#cr-name-changes'],
    act: createThenPatch('multusConfig', macvlan, [
      { op: 'add', path: '/metadata/annotations', value: { [multusConfigAnnotations.crName]: 'renamed' } },
    ]),
    field: `metadata.annotations[${multusConfigAnnotations.crName}]`,
    value: 'renamed',
  },
  {
    name: 'an unsupported CNI version',
    covers: ['multus/admission.ts#cni-version'],
    act: smc(macvlan, { [multusConfigAnnotations.cniVersion]: '9.9.9' }),
    field: `metadata.annotations[${multusConfigAnnotations.cniVersion}]`,
    value: '9.9.9',
  },
  {
    name: 'a chained plugin that is not JSON',
    covers: ['multus/admission.ts#chain-json'],
    act: smc({ ...macvlan, chainCNIJsonData: ['{nope'] }),
    field: 'spec.chainCNIJsonData[0]',
    value: '{nope',
  },
  {
    name: 'a chained plugin that is not an object with a type',
    covers: ['multus/admission.ts#chain-type', 'multus/render.ts#chain-object'],
    act: smc({ ...macvlan, chainCNIJsonData: ['[1]'] }),
    field: 'spec.chainCNIJsonData[0]',
    value: '[1]',
  },
  {
    name: 'a NAD another SpiderMultusConfig owns',
    covers: ['multus/admission.ts#nad-owned'],
    act: async () => {
      const first = (await create('multusConfig', macvlan)) as KubernetesObject;
      const nad = first.metadata?.name as string;
      await eventually('the NAD of the first', () =>
        objects.getNamespacedCustomObject({
          group: 'k8s.cni.cncf.io',
          version: 'v1',
          plural: 'network-attachment-definitions',
          namespace: ns,
          name: nad,
        }),
      );
      return create('multusConfig', macvlan, undefined, {
        annotations: { [multusConfigAnnotations.crName]: nad },
      });
    },
    field: 'metadata.annotations',
    value: 'already exists and is managed by SpiderMultusConfig',
  },
  // CoordinatorSpec (SpiderCoordinator's spec and a SpiderMultusConfig's spec.coordinator).
  {
    name: 'a hijackCIDR entry that is neither address nor CIDR',
    covers: ['hijackCIDR[] must be an IP address or a CIDR'],
    act: withCoordinator({ hijackCIDR: ['10.0.0.0/33'] }),
    field: 'spec.coordinator.hijackCIDR[0]',
    value: '10.0.0.0/33',
  },
  {
    name: 'a policy route dst that is neither address nor CIDR',
    covers: ['policyRoutes[].dst must be an IP address or a CIDR'],
    act: withCoordinator({ policyRoutes: [{ dst: 'anywhere', gw: '198.18.0.1' }] }),
    field: 'spec.coordinator.policyRoutes[0].dst',
    value: 'anywhere',
  },
  {
    name: 'a policy route gw that is not an address',
    covers: ['policyRoutes[].gw must be an IP address'],
    act: withCoordinator({ policyRoutes: [{ dst: '10.0.0.0/8', gw: 'router' }] }),
    field: 'spec.coordinator.policyRoutes[0].gw',
    value: 'router',
  },
  {
    name: 'a policy route across families',
    covers: ['policyRoutes[]: dst and gw must be of the same IP family'],
    act: withCoordinator({ policyRoutes: [{ dst: '10.0.0.0/8', gw: 'fd00::1' }] }),
    field: 'spec.coordinator.policyRoutes[0].gw',
    value: 'fd00::1',
  },
  {
    name: 'podMACPrefix that is not two bytes',
    covers: ['podMACPrefix must be two hexadecimal bytes, e.g. 0a:1b'],
    act: withCoordinator({ podMACPrefix: 'zz:zz' }),
    field: 'spec.coordinator.podMACPrefix',
    value: 'zz:zz',
  },
  {
    name: 'podMACPrefix that is multicast',
    covers: ['podMACPrefix must be a unicast prefix: the lowest bit of the first byte must be 0'],
    act: () => create('coordinator', { podMACPrefix: '0b:00' }, 'default'),
    field: 'spec.podMACPrefix',
    value: '0b:00',
  },
  {
    name: 'podRPFilter 3',
    covers: ['podRPFilter must be 0, 1, 2 or negative'],
    act: withCoordinator({ podRPFilter: 3 }),
    field: 'spec.coordinator.podRPFilter',
  },
  {
    name: 'txQueueLen below 0',
    covers: ['txQueueLen can not be less than 0'],
    act: withCoordinator({ txQueueLen: -1 }),
    field: 'spec.coordinator.txQueueLen',
  },
  {
    name: 'vethLinkAddress that is not an address',
    covers: ['vethLinkAddress must be an IP address'],
    act: withCoordinator({ vethLinkAddress: '169.254.0.1/16' }),
    field: 'spec.coordinator.vethLinkAddress',
    value: '169.254.0.1/16',
  },
  {
    name: 'a SpiderCoordinator not named default',
    covers: ['metadata.name must be default: SpiderCoordinator is a singleton'],
    act: () => create('coordinator', {}, 'other'),
    field: 'metadata.name',
    value: 'other',
  },
];

describe('CEL rules and webhook checks, each with a written case', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const message = await refusal(c.act);
    expect(message).toContain(c.field);
    if (c.value !== undefined) expect(message).toContain(c.value);
  });
});

// ---- coverage ---------------------------------------------------------------------------------

const covered = new Set(cases.flatMap((c) => c.covers));

/** Where the webhook checks are made, and how a check site looks in each file. */
const webhookCheckSites: Record<string, RegExp> = {
  'ipam/validation/address-spec.ts': /\b(?:invalid|forbidden|required|attempt)\(/g,
  'ipam/validation/pool.ts': /\b(?:invalid|forbidden|required|attempt)\(/g,
  'ipam/validation/subnet.ts': /\b(?:invalid|forbidden|required|attempt)\(/g,
  'ipam/validation/reserved-ip.ts': /\b(?:invalid|forbidden|required|attempt)\(/g,
  'ipam/validation/selectors.ts': /\b(?:invalid|forbidden|required|attempt)\(/g,
  'multus/admission.ts': /\b(?:invalid|forbidden|required|attempt)\(|type: 'Forbidden'/g,
  'multus/render.ts': /new RenderError\(/g,
  'operator/webhook/rules.ts': /\bfield: /g,
  'operator/webhook/handlers.ts': /onDelete: deleteGuard/g,
};

describe('coverage: a rule added without a case fails here', () => {
  test('every CEL rule of the CRDs has a case', () => {
    const missing = [...celRules.entries()]
      .filter(([message]) => !covered.has(message))
      .map(([message, { at }]) => `${message} (at ${at.join(', ')})`);
    expect(missing).toEqual([]);
    expect(celRules.size).toBeGreaterThan(40);
  });

  test('every case names a rule that exists', () => {
    const unknown = [...covered].filter(
      (c) => !celRules.has(c) && !((c.split('#')[0] as string) in webhookCheckSites),
    );
    expect(unknown).toEqual([]);
  });

  test('every webhook check site has a case (counted per file)', () => {
    const sites = Object.fromEntries(
      Object.entries(webhookCheckSites).map(([file, re]) => [
        file,
        (readFileSync(join(repoRoot, file), 'utf8').match(re) ?? []).length,
      ]),
    );
    const cased = Object.fromEntries(
      Object.keys(webhookCheckSites).map((file) => [
        file,
        [...covered].filter((c) => c.startsWith(`${file}#`)).length,
      ]),
    );
    expect(cased).toEqual(sites);
  });
});
