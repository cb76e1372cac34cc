// Which pools the compiled plugin reads, seen from the API server: a private control plane writes an
// audit log of every request the plugin's own user (the 'cni' test user, with the synthesized RBAC)
// makes on spiderpool.spidernet.io, so each test can say exactly which pools were listed or read.
// Fifty large pools (2,000 records each, about 100 bytes a record) sit beside the pools under test;
// a plugin that listed every pool would move them on every call, and these tests would see it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { ippoolCrd } from '../../../api/crds.js';
import type { SpiderIPPool } from '../../../api/index.js';
import { RestClient } from '../../../kube/rest.js';
import { kubeConfig, uniqueName } from '../../harness/clients.js';
import {
  callPlugin,
  cniEnv,
  netConf,
  type ProcessOutcome,
  type TestNode,
  testNode,
} from '../../harness/cni-plugin.js';
import { ControlPlane } from '../../harness/control-plane.js';
import {
  ClusterFixtures,
  cniPolicyRules,
  ensureSpiderpoolCrds,
  grantClusterRules,
} from '../../harness/spiderpool-api.js';
import { testUsers } from '../../harness/users.js';
import { eventually } from '../../harness/wait.js';

const bigPools = 50;
const recordsPerBigPool = 2000;

let dir: string;
let cp: ControlPlane;
let admin: KubeConfig;
let fixtures: ClusterFixtures;
let node: TestNode;
let namespace: string;
let auditLog: string;
const bigNames: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pool-reads-'));
  const policy = join(dir, 'audit-policy.yaml');
  auditLog = join(dir, 'audit.log');
  writeFileSync(
    policy,
    [
      'apiVersion: audit.k8s.io/v1',
      'kind: Policy',
      'omitStages: [RequestReceived]',
      'rules:',
      '  - level: Metadata',
      `    users: ["${testUsers.cni.name}"]`,
      '    resources: [{group: spiderpool.spidernet.io}]',
      '  - level: None',
      '',
    ].join('\n'),
  );
  cp = await ControlPlane.start({
    dir: join(dir, 'cp'),
    scheduler: false,
    controllerManager: false,
    extraArgs: { 'kube-apiserver': [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`] },
  });
  admin = kubeConfig('admin', cp);
  await ensureSpiderpoolCrds(admin);
  await grantClusterRules(admin, 'cni', cniPolicyRules());
  fixtures = new ClusterFixtures(admin);
  namespace = await fixtures.namespace('reads');
  node = testNode(dir, 'reads-node');
  // The large pools: IPv4, none default, each holding 2,000 records of pods that do not exist.
  for (let k = 0; k < bigPools; k += 10)
    bigNames.push(...(await Promise.all(Array.from({ length: 10 }, () => bigPool()))));
}, 180_000);

afterAll(async () => {
  await cp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function bigPool(): Promise<string> {
  const name = await fixtures.pool({ subnet: '198.19.0.0/16', ips: ['198.19.0.1-198.19.255.254'] }, 'big');
  const records: Record<string, { pod: string; podUid: string }> = {};
  for (let i = 0; i < recordsPerBigPool; i++) {
    const ip = `198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    records[ip] = {
      pod: `elsewhere/${name}-${i}`,
      podUid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    };
  }
  const pool = await fixtures.spiderpool.getPool(name);
  await fixtures.spiderpool.replacePoolStatus({
    ...pool,
    status: { allocatedIPs: JSON.stringify(records), allocatedIPCount: recordsPerBigPool },
  });
  return name;
}

interface AuditEvent {
  verb: string;
  requestURI: string;
  user: { username: string };
  objectRef?: { resource?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number };
}

/** The audit events of the plugin's user since `mark` (a count of lines read before). */
function auditSince(mark: number): AuditEvent[] {
  return auditLines()
    .slice(mark)
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter((e) => e.user.username === testUsers.cni.name);
}

function auditLines(): string[] {
  try {
    return readFileSync(auditLog, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** What the plugin did with SpiderIPPools: `get <name>`, `list <query>`, `update <name>/status`. */
function poolRequests(events: AuditEvent[]): string[] {
  return events
    .filter((e) => e.objectRef?.resource === 'spiderippools')
    .map((e) => {
      if (e.verb === 'list')
        return `list ${new URL(e.requestURI, 'https://x').searchParams.toString()}`.trim();
      const sub = e.objectRef?.subresource ? `/${e.objectRef.subresource}` : '';
      return `${e.verb} ${e.objectRef?.name}${sub}`;
    });
}

/** The leader's last `batch` log line. */
function lastBatch(): { poolsRead: string[]; poolReads: Record<string, number> } {
  const lines = readFileSync(node.logFile, 'utf8').split('\n').filter(Boolean);
  const batches = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'batch');
  return batches[batches.length - 1];
}

const ref = (pod: V1Pod) => ({
  namespace: pod.metadata?.namespace ?? '',
  name: pod.metadata?.name ?? '',
  uid: pod.metadata?.uid ?? '',
});

function call(command: string, pod: V1Pod, ipam: Record<string, unknown> = {}): Promise<ProcessOutcome> {
  return callPlugin(cniEnv(command, ref(pod)), netConf(node, cp.kubeconfigPath('cni'), { ipam }));
}

const address = (out: ProcessOutcome) =>
  (out.json?.ips as Array<{ address: string }> | undefined)?.map((ip) => ip.address);

async function newPod(annotations: Record<string, string> = {}, ns = namespace): Promise<V1Pod> {
  return fixtures.pod({ namespace: ns, name: uniqueName('p'), nodeName: node.name, annotations });
}

async function records(pool: string) {
  return (await fixtures.poolState(pool)).records;
}

test('the large pools are really there: 50 pools of 2,000 records each', async () => {
  const list = await fixtures.spiderpool.listPools();
  const big = list.items.filter((p: SpiderIPPool) => bigNames.includes(p.metadata.name ?? ''));
  expect(big).toHaveLength(bigPools);
  expect(big.every((p) => p.status?.allocatedIPCount === recordsPerBigPool)).toBe(true);
  expect(JSON.stringify(list).length).toBeGreaterThan(bigPools * recordsPerBigPool * 80);
});

test('an ADD naming its pool reads that pool and no other; DEL reads it again from the attachment record', async () => {
  const pool = await fixtures.pool({ subnet: '198.18.60.0/24', ips: ['198.18.60.10-198.18.60.20'] }, 'named');
  const pod = await newPod({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [pool] }) });
  const mark = auditLines().length;
  const add = await call('ADD', pod);
  expect(add.code).toBe(0);
  expect(address(add)).toEqual(['198.18.60.10/24']);
  expect(poolRequests(auditSince(mark))).toEqual([`get ${pool}`, `update ${pool}/status`]);
  expect(lastBatch().poolsRead).toEqual([pool]);

  await fixtures.deletePod(namespace, ref(pod).name);
  const delMark = auditLines().length;
  expect((await call('DEL', pod)).code).toBe(0);
  expect(poolRequests(auditSince(delMark))).toEqual([`get ${pool}`, `update ${pool}/status`]);
  expect(await records(pool)).toEqual([]);
});

test('a wildcard lists pool names only (metadata) and reads just the matches', async () => {
  const prefix = uniqueName('wild');
  const a = `${prefix}-a`;
  const b = `${prefix}-b`;
  for (const [name, subnet] of [
    [a, '198.18.61.0/24'],
    [b, '198.18.62.0/24'],
  ] as const) {
    await fixtures.spiderpool.createPool({
      metadata: { name },
      spec: { subnet, ips: [subnet.replace('0/24', '5')] },
    });
  }
  const pod = await newPod({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [`${prefix}-*`] }) });
  const mark = auditLines().length;
  const add = await call('ADD', pod);
  expect(add.code).toBe(0);
  expect(address(add)).toEqual(['198.18.61.5/24']);
  const requests = poolRequests(auditSince(mark));
  // The names from the API server's cache (resourceVersion=0), not a consistent list.
  expect(requests.filter((r) => r.startsWith('list'))).toEqual(['list resourceVersion=0']);
  expect(requests.filter((r) => r.startsWith('get')).sort()).toEqual([`get ${a}`, `get ${b}`]);
  expect(requests.filter((r) => r.startsWith('update'))).toEqual([`update ${a}/status`]);
  expect(lastBatch().poolsRead).toEqual([a, b]);
  // The list asked for metadata only: the leader's counters say one name list, no default list.
  expect(lastBatch().poolReads).toMatchObject({ gets: 2, nameLists: 1, defaultLists: 0, scanned: 0 });
});

test("Spiderpool's rule 5 asks the API server for the spec.default pools only (the CRD's selectable field)", async () => {
  const other = await fixtures.pool({ subnet: '198.18.63.0/24', ips: ['198.18.63.5'] }, 'not-default');
  const pool = await fixtures.pool(
    { subnet: '198.18.64.0/24', ips: ['198.18.64.5-198.18.64.6'], default: true },
    'default',
  );
  const pod = await newPod();
  const mark = auditLines().length;
  const add = await call('ADD', pod);
  expect(add.code).toBe(0);
  expect(address(add)).toEqual(['198.18.64.5/24']);
  // From the API server's cache (resourceVersion=0): the guarded write checks what it listed.
  expect(poolRequests(auditSince(mark))).toEqual([
    'list fieldSelector=spec.default%3Dtrue&resourceVersion=0',
    `update ${pool}/status`,
  ]);
  expect(lastBatch().poolsRead).toEqual([pool]);
  expect(await records(other)).toEqual([]);

  // STATUS judges the same pools the same way, and is fine while one address is left.
  const statusMark = auditLines().length;
  const status = await callPlugin(
    { CNI_COMMAND: 'STATUS' },
    netConf(node, cp.kubeconfigPath('cni'), { cniVersion: '1.1.0' }),
  );
  expect({ code: status.code, stdout: status.stdout }).toEqual({ code: 0, stdout: '' });
  expect(poolRequests(auditSince(statusMark))).toEqual(['list fieldSelector=spec.default%3Dtrue']);

  // Configured defaults are read by name instead.
  const named = await callPlugin(
    { CNI_COMMAND: 'STATUS' },
    netConf(node, cp.kubeconfigPath('cni'), { cniVersion: '1.1.0', ipam: { default_ipv4_ippool: [other] } }),
  );
  expect(named.code).toBe(0);
  expect(poolRequests(auditSince(statusMark)).slice(1)).toEqual(['list', `get ${other}`]);
});

test('a DEL that neither an endpoint nor an attachment record explains scans pool by pool, and frees the record', async () => {
  // What a leader killed between its pool write and its endpoint write leaves: a record in a pool,
  // no SpiderEndpoint, no attachment record on the node.
  const pool = await fixtures.pool({ subnet: '198.18.65.0/24', ips: ['198.18.65.5-198.18.65.9'] }, 'orphan');
  const pod = await newPod();
  const { uid, namespace: ns, name } = ref(pod);
  const state = await fixtures.spiderpool.getPool(pool);
  await fixtures.spiderpool.replacePoolStatus({
    ...state,
    status: {
      allocatedIPs: JSON.stringify({ '198.18.65.7': { pod: `${ns}/${name}`, podUid: uid, nic: 'eth0' } }),
      allocatedIPCount: 1,
    },
  });
  await fixtures.deletePod(ns, name);
  const mark = auditLines().length;
  const del = await call('DEL', pod);
  expect(del.code).toBe(0);
  expect(await records(pool)).toEqual([]);
  const requests = poolRequests(auditSince(mark));
  // One metadata list, then each pool once (a few at a time), then the one write.
  expect(requests.filter((r) => r.startsWith('list'))).toEqual(['list']);
  expect(requests.filter((r) => r.startsWith('update'))).toEqual([`update ${pool}/status`]);
  expect(requests.filter((r) => r.startsWith('get')).length).toBeGreaterThanOrEqual(bigPools + 1);
  const log = readFileSync(node.logFile, 'utf8');
  expect(log).toContain('reading every pool for a release');
  expect(lastBatch().poolsRead).toEqual([pool]);
});

test('a SpiderIPPool CRD without the selectable field (an older installation) is named in the errors', async () => {
  // Runs last: it changes this private control plane's CRD.
  const rest = new RestClient(admin);
  const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${ippoolCrd.name}`;
  try {
    const stored = await rest.get<{ spec: { versions: Array<Record<string, unknown>> } }>(path);
    expect(stored.spec.versions[0]?.selectableFields).toEqual([{ jsonPath: '.spec.default' }]);
    for (const version of stored.spec.versions) delete version.selectableFields;
    await rest.request('PUT', path, { body: stored });
    await eventually('the field selector to be refused', () =>
      fixtures.spiderpool.listPools(undefined, 'spec.default=true').then(
        () => false,
        (err: { code?: number }) => err.code === 400,
      ),
    );
  } finally {
    rest.close();
  }
  const pod = await newPod();
  const add = await call('ADD', pod);
  expect(add.code).toBe(1);
  expect(add.json).toMatchObject({
    code: 105,
    msg: expect.stringContaining('the SpiderIPPool CRD must declare spec.default a selectable field'),
  });
  const status = await callPlugin(
    { CNI_COMMAND: 'STATUS' },
    netConf(node, cp.kubeconfigPath('cni'), { cniVersion: '1.1.0' }),
  );
  expect(status.json).toMatchObject({
    code: 50,
    msg: expect.stringContaining('fieldSelector spec.default=true'),
  });
  // A pod that names its pool does not need the field at all.
  const pool = await fixtures.pool({ subnet: '198.18.66.0/24', ips: ['198.18.66.5'] }, 'still');
  const named = await newPod({ 'ipam.spidernet.io/ippool': JSON.stringify({ ipv4: [pool] }) });
  expect(address(await call('ADD', named))).toEqual(['198.18.66.5/24']);
});
