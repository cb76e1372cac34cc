import type { V1Pod } from '@kubernetes/client-node';
import type { SpiderEndpoint } from '../../../../api/index.js';
import { audit, type PooledRecord } from '../../../../ipam/gc/audit.js';
import type { OwnerFacts } from '../../../../ipam/gc/verdict.js';

const switches = { enableKubevirtStaticIP: true, enableStatefulSet: true };
const nowMs = Date.parse('2026-01-01T00:00:00Z');

function pod(name: string, uid: string, extra: Partial<NonNullable<V1Pod['metadata']>> = {}): V1Pod {
  return {
    metadata: { name, namespace: 'ns', uid, ...extra },
    spec: { containers: [], nodeName: 'node-1' },
    status: { phase: 'Running' },
  };
}

function endpoint(name: string, uid: string, ips: Array<{ ip: string; pool: string }>): SpiderEndpoint {
  return {
    metadata: { name, namespace: 'ns', uid: `ep-${name}` },
    status: {
      current: {
        uid,
        node: 'node-1',
        ips: ips.map((x) => ({ interface: 'eth0', ipv4: `${x.ip}/24`, ipv4Pool: x.pool })),
      },
      ownerControllerType: 'Pod',
      ownerControllerName: name,
    },
  };
}

const record = (ip: string, name: string, podUid: string): PooledRecord => ({
  pool: 'p1',
  ip,
  value: 0n,
  pod: `ns/${name}`,
  podUid,
  nic: 'eth0',
});

/** Facts from a fixed world: these pods and endpoints. */
function world(pods: V1Pod[], endpoints: SpiderEndpoint[]) {
  return (owner: { namespace: string; name: string }): OwnerFacts => {
    const facts: OwnerFacts = { podByUid: (uid) => pods.find((p) => p.metadata?.uid === uid) };
    const named = pods.find((p) => p.metadata?.name === owner.name);
    if (named) facts.named = named;
    const ep = endpoints.find((e) => e.metadata.name === owner.name);
    if (ep) facts.endpoint = ep;
    return facts;
  };
}

test('live holders with their endpoints are consistent', () => {
  const pods = [pod('a', 'ua'), pod('b', 'ub')];
  const endpoints = [
    endpoint('a', 'ua', [{ ip: '198.18.0.1', pool: 'p1' }]),
    endpoint('b', 'ub', [{ ip: '198.18.0.2', pool: 'p1' }]),
  ];
  const result = audit({
    records: [record('198.18.0.1', 'a', 'ua'), record('198.18.0.2', 'b', 'ub')],
    endpoints,
    factsOf: world(pods, endpoints),
    ctx: { switches, nowMs },
  });
  expect(result).toEqual({ identities: 2, records: 2, findings: [], consistent: true });
});

test("a gone pod's record is reclaimed with the operator's reason; a stale endpoint would be deleted", () => {
  const endpoints = [endpoint('gone', 'ug', [{ ip: '198.18.0.3', pool: 'p1' }])];
  const result = audit({
    records: [record('198.18.0.3', 'gone', 'ug')],
    endpoints,
    factsOf: world([], endpoints),
    ctx: { switches, nowMs },
  });
  expect(result.consistent).toBe(false);
  expect(result.findings).toEqual([
    {
      kind: 'reclaim',
      pool: 'p1',
      ip: '198.18.0.3',
      owner: 'ns/gone',
      podUid: 'ug',
      nic: 'eth0',
      gcReason: 'pod-gone',
      reason: 'pod ns/gone with UID ug is gone',
    },
    { kind: 'stale-endpoint', owner: 'ns/gone', reason: 'pod ns/gone with UID ug is gone' },
  ]);
});

test('a terminating pod in its grace period is pending, which is not an inconsistency', () => {
  const deadline = new Date(nowMs + 30_000);
  const pods = [pod('t', 'ut', { deletionTimestamp: deadline })];
  const endpoints = [endpoint('t', 'ut', [{ ip: '198.18.0.4', pool: 'p1' }])];
  const result = audit({
    records: [record('198.18.0.4', 't', 'ut')],
    endpoints,
    factsOf: world(pods, endpoints),
    ctx: { switches, nowMs },
  });
  expect(result.findings).toEqual([
    expect.objectContaining({ kind: 'pending', ip: '198.18.0.4', recheckAt: deadline.toISOString() }),
  ]);
  expect(result.consistent).toBe(true);
});

test('a live holder without an endpoint, and an endpoint address no record holds, are inconsistent', () => {
  const pods = [pod('noep', 'un'), pod('e', 'ue')];
  const endpoints = [endpoint('e', 'ue', [{ ip: '198.18.0.6', pool: 'p1' }])];
  const result = audit({
    records: [record('198.18.0.5', 'noep', 'un')],
    endpoints,
    factsOf: world(pods, endpoints),
    ctx: { switches, nowMs },
  });
  expect(result.consistent).toBe(false);
  expect(result.findings).toEqual([
    {
      kind: 'unrecorded',
      owner: 'ns/e',
      pool: 'p1',
      ip: '198.18.0.6',
      nic: 'eth0',
      reason: 'SpiderEndpoint ns/e lists 198.18.0.6 on eth0 but pool p1 has no record of it for ns/e',
    },
    expect.objectContaining({
      kind: 'no-endpoint',
      ip: '198.18.0.5',
      reason: 'pod ns/noep is alive but ns/noep has no SpiderEndpoint',
    }),
  ]);
});

test("a stopped VM's endpoint that lists a released address is no problem: no live pod uses it", () => {
  const vmEndpoint = endpoint('vm1', 'gone-launcher', [{ ip: '198.18.0.7', pool: 'p1' }]);
  if (vmEndpoint.status) {
    vmEndpoint.status.ownerControllerType = 'VirtualMachineInstance';
    vmEndpoint.status.ownerControllerName = 'vm1';
  }
  const result = audit({
    records: [],
    endpoints: [vmEndpoint],
    factsOf: () => ({
      podByUid: () => undefined,
      endpoint: vmEndpoint,
      vm: { metadata: { name: 'vm1', namespace: 'ns', uid: 'vm' } },
    }),
    ctx: { switches, nowMs },
  });
  expect(result).toEqual({ identities: 1, records: 0, findings: [], consistent: true });
  // The same endpoint held by a live pod is a problem: that pod uses an address the pool may hand out.
  const live = audit({
    records: [],
    endpoints: [vmEndpoint],
    factsOf: world([pod('virt-launcher-vm1', 'gone-launcher')], [vmEndpoint]),
    ctx: { switches, nowMs },
  });
  expect(live.findings.map((f) => f.kind)).toEqual(['unrecorded']);
});
