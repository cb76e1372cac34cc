import { Type } from '@sinclair/typebox';
import {
  AllocatedIPsSchema,
  coordinatorCrd,
  endpointCrd,
  IPPoolSpecSchema,
  ippoolCrd,
  multusConfigCrd,
  reservedipCrd,
  spiderpoolCrds,
  subnetCrd,
  toCrdSchema,
} from '../../../api/index.js';

/** Every key anywhere in a value, to prove what the conversion leaves out. */
function allKeys(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) allKeys(v, into);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      into.add(k);
      allKeys(v, into);
    }
  }
  return into;
}

describe('toCrdSchema', () => {
  test('drops TypeBox bookkeeping and $id, keeps required, limits and CEL rules', () => {
    const schema = Type.Object(
      { a: Type.Optional(Type.String({ maxLength: 3 })), b: Type.Integer({ format: 'int64', minimum: 0 }) },
      { $id: 'Thing', 'x-kubernetes-validations': [{ rule: 'self.b >= 0', message: 'b' }] },
    );
    const out = toCrdSchema(schema);
    expect(out).toEqual({
      type: 'object',
      required: ['b'],
      properties: {
        a: { type: 'string', maxLength: 3 },
        b: { type: 'integer', format: 'int64', minimum: 0 },
      },
      'x-kubernetes-validations': [{ rule: 'self.b >= 0', message: 'b' }],
    });
    expect(Object.getOwnPropertySymbols(out.properties?.a ?? {})).toEqual([]);
  });

  test('a map keyed by pattern is refused with the position and the keyword', () => {
    expect(() => toCrdSchema(Type.Object({ m: AllocatedIPsSchema }), 'X')).toThrow(
      'X.m: keyword "patternProperties" has no place in a structural CRD schema',
    );
  });

  test('a union (no type) is refused: structural schemas need a type at every level', () => {
    expect(() => toCrdSchema(Type.Object({ u: Type.Union([Type.String(), Type.Integer()]) }))).toThrow(
      /\(root\)\.u: keyword "anyOf"/,
    );
  });

  test('the pool spec schema keeps its CEL rules and bounds for the API server cost estimate', () => {
    const spec = toCrdSchema(IPPoolSpecSchema);
    expect(spec.required).toEqual(['subnet']);
    expect(spec['x-kubernetes-validations']?.map((r) => r.fieldPath)).toEqual([
      '.ipVersion',
      '.ipVersion',
      '.ips',
      '.excludeIPs',
      '.gateway',
      '.routes',
      '.routes',
    ]);
    expect(spec.properties?.ips?.maxItems).toBeGreaterThan(0);
    expect(spec.properties?.ips?.items?.maxLength).toBeGreaterThan(0);
    expect(spec.properties?.subnet?.['x-kubernetes-validations']?.map((r) => r.rule)).toContain(
      'self == oldSelf',
    );
  });
});

describe('CRD definitions', () => {
  test('names, scopes and short names are Spiderpool’s', () => {
    expect(
      spiderpoolCrds.map((c) => [c.name, c.spec.scope, c.spec.names.shortNames, c.spec.names.categories]),
    ).toEqual([
      ['spiderippools.spiderpool.spidernet.io', 'Cluster', ['sp'], ['spiderpool']],
      ['spiderendpoints.spiderpool.spidernet.io', 'Namespaced', ['se'], ['spiderpool']],
      ['spidersubnets.spiderpool.spidernet.io', 'Cluster', ['ss'], ['spiderpool']],
      ['spiderreservedips.spiderpool.spidernet.io', 'Cluster', ['sr'], ['spiderpool']],
      ['spidermultusconfigs.spiderpool.spidernet.io', 'Namespaced', ['smc'], ['spiderpool']],
      ['spidercoordinators.spiderpool.spidernet.io', 'Cluster', ['scc'], ['spiderpool']],
    ]);
  });

  test('status subresources where Spiderpool has them: pools, subnets and the coordinator', () => {
    const status = (c: typeof ippoolCrd) => c.spec.versions[0]?.subresources?.status !== undefined;
    expect(
      [ippoolCrd, subnetCrd, coordinatorCrd, endpointCrd, reservedipCrd, multusConfigCrd].map(status),
    ).toEqual([true, true, true, false, false, false]);
  });

  test('kubectl get spiderippool prints VERSION SUBNET ALLOCATED-IP-COUNT TOTAL-IP-COUNT DEFAULT', () => {
    const columns = ippoolCrd.spec.versions[0]?.additionalPrinterColumns ?? [];
    expect(columns.filter((c) => !c.priority).map((c) => c.name)).toEqual([
      'VERSION',
      'SUBNET',
      'ALLOCATED-IP-COUNT',
      'TOTAL-IP-COUNT',
      'DEFAULT',
    ]);
    expect(columns.filter((c) => c.priority).map((c) => c.name)).toEqual([
      'DISABLE',
      'NodeName',
      'MultusName',
      'APP-NAMESPACE',
    ]);
  });

  test('endpoint columns come from the first NIC, as in Spiderpool', () => {
    const columns = endpointCrd.spec.versions[0]?.additionalPrinterColumns ?? [];
    expect(columns.map((c) => [c.name, c.jsonPath])).toEqual([
      ['INTERFACE', '.status.current.ips[0].interface'],
      ['IPV4POOL', '.status.current.ips[0].ipv4Pool'],
      ['IPV4', '.status.current.ips[0].ipv4'],
      ['IPV6POOL', '.status.current.ips[0].ipv6Pool'],
      ['IPV6', '.status.current.ips[0].ipv6'],
      ['NODE', '.status.current.node'],
    ]);
  });

  test('schemas are plain JSON with our extension fields present', () => {
    for (const crd of spiderpoolCrds) {
      const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
      expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
      expect(allKeys(schema).has('$id')).toBe(false);
    }
    const pool = ippoolCrd.spec.versions[0]?.schema.openAPIV3Schema;
    expect(pool?.properties?.status?.properties?.lastAllocatedIP?.type).toBe('string');
    // The records stay one JSON string: no length bound, it grows with the pool.
    expect(pool?.properties?.status?.properties?.allocatedIPs).not.toHaveProperty('maxLength');
  });
});
