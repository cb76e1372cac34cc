import type { SpiderIPPool, SpiderSubnet } from '../../../api/index.js';
import { labels } from '../../../api/index.js';
import {
  applicationKey,
  applicationOfPool,
  autoPoolAffinity,
  autoPoolLabels,
  autoPoolName,
  isThirdPartyController,
} from '../../../ipam/autopool/application.js';
import {
  carve,
  controlledCount,
  decodeControlled,
  encodeControlled,
  rangesOf,
} from '../../../ipam/autopool/carve.js';
import { planSlot, withoutPool } from '../../../ipam/autopool/plan.js';
import {
  desiredPoolSize,
  fixedPoolSize,
  parseAutoPoolRequest,
  parsePoolSize,
} from '../../../ipam/autopool/request.js';
import { autoPoolCandidates, podApplication } from '../../../ipam/autopool/select.js';
import {
  applicationReplicas,
  isIntermediateController,
  templateAnnotations,
} from '../../../ipam/autopool/workload.js';
import { formatRanges } from '../../../ipam/ranges/spiderpool-ranges.js';
import { explainNoAddress } from '../../../ipam/selection/explain.js';

const plus1 = { flexible: true, n: 1 };
const set = (...ips: string[]) => rangesOf(4, ips, 'test');
const show = (s: ReturnType<typeof set>) => formatRanges(4, s);

describe('parseAutoPoolRequest', () => {
  it('reads ipam.spidernet.io/subnet for eth0, first name per family, the default size and reclaim', () => {
    expect(
      parseAutoPoolRequest({ 'ipam.spidernet.io/subnet': '{"ipv4":["s4","other"],"ipv6":["s6"]}' }, plus1),
    ).toEqual({
      slots: [
        { nic: 'eth0', family: 4, subnet: 's4' },
        { nic: 'eth0', family: 6, subnet: 's6' },
      ],
      size: plus1,
      reclaim: true,
    });
  });
  it('lets ipam.spidernet.io/subnets win, per interface, with ippool-ip-number and ippool-reclaim', () => {
    const r = parseAutoPoolRequest(
      {
        'ipam.spidernet.io/subnet': '{"ipv4":["ignored"]}',
        'ipam.spidernet.io/subnets': '[{"interface":"eth0","ipv4":["a"]},{"interface":"net1","ipv4":["b"]}]',
        'ipam.spidernet.io/ippool-ip-number': '3',
        'ipam.spidernet.io/ippool-reclaim': 'false',
      },
      plus1,
    );
    expect(r?.slots.map((s) => `${s.nic}:${s.subnet}`)).toEqual(['eth0:a', 'net1:b']);
    expect(r?.size).toEqual({ flexible: false, n: 3 });
    expect(r?.reclaim).toBe(false);
  });
  it('says nothing without a subnet annotation', () => {
    expect(parseAutoPoolRequest({ 'ipam.spidernet.io/ippool': '{}' }, plus1)).toBeUndefined();
  });
  it.each([
    [
      { 'ipam.spidernet.io/subnet': '{"ipv4":"s"}' },
      /ipam.spidernet.io\/subnet.ipv4: expected an array of strings/,
    ],
    [{ 'ipam.spidernet.io/subnet': '{}' }, /ipam.spidernet.io\/subnet: names no SpiderSubnet/],
    [
      { 'ipam.spidernet.io/subnet': '{"ipv4":["s"]}', 'ipam.spidernet.io/ippool-ip-number': '-1' },
      /ippool-ip-number: expected N or \+N/,
    ],
    [
      { 'ipam.spidernet.io/subnet': '{"ipv4":["s"]}', 'ipam.spidernet.io/ippool-reclaim': 'no' },
      /ippool-reclaim: expected true or false/,
    ],
    [
      { 'ipam.spidernet.io/subnets': '[{"interface":"e","ipv4":["a"]},{"interface":"e"}]' },
      /\[1\].interface: interface e is listed twice/,
    ],
  ])('refuses %j naming the annotation', (a, message) => {
    expect(() => parseAutoPoolRequest(a as Record<string, string>, plus1)).toThrow(message);
  });
  it('sizes +N as replicas + N and N as N', () => {
    expect(desiredPoolSize(parsePoolSize('+2'), 5)).toBe(7);
    expect(desiredPoolSize(parsePoolSize('4'), 5)).toBe(4);
    expect(desiredPoolSize(parsePoolSize('+0'), 0)).toBe(0);
  });
});

describe('names and labels', () => {
  const app = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: 'ns',
    name: 'Web',
    uid: 'a-b-c-d-0123456789ab',
  };
  it("follows Spiderpool's auto-pool name", () => {
    expect(autoPoolName(app, 4, 'eth0')).toBe('auto4-web-eth0-01234');
    expect(autoPoolName({ ...app, name: 'x'.repeat(300) }, 6, 'net1')).toHaveLength(253);
  });
  it('labels a pool so that the application is read back from them', () => {
    const l = autoPoolLabels(app, 'sub', 'eth0', 4, false);
    expect(l[labels.ipVersion]).toBe('IPv4');
    expect(l[labels.ippoolReclaim]).toBe('false');
    expect(applicationOfPool(l)).toEqual({ ...app, nic: 'eth0', reclaim: false });
    expect(applicationOfPool({})).toBeUndefined();
    expect(applicationKey(app)).toBe('apps_v1_Deployment_ns_Web');
  });
});

describe('controlledIPPools and carving', () => {
  it('round-trips the subnet status and counts every address once', () => {
    const text = encodeControlled({
      p2: { ips: ['10.0.0.5'] },
      p1: { ips: ['10.0.0.1-10.0.0.3'], application: 'x' },
    });
    expect(text).toBe('{"p1":{"ips":["10.0.0.1-10.0.0.3"],"application":"x"},"p2":{"ips":["10.0.0.5"]}}');
    expect(controlledCount(4, decodeControlled('s', text))).toBe(4);
    expect(encodeControlled({})).toBeUndefined();
    expect(() => decodeControlled('s', '{"p":{"ips":"x"}}')).toThrow(
      /SpiderSubnet s status.controlledIPPools.p/,
    );
  });
  const subnet = set('10.0.0.1-10.0.0.10');
  it('grows with the lowest addresses no other pool has', () => {
    const r = carve({
      subnet,
      taken: set('10.0.0.1-10.0.0.2'),
      current: set('10.0.0.3'),
      allocated: set(),
      desired: 3,
    });
    expect(show(r.target)).toEqual(['10.0.0.3-10.0.0.5']);
    expect(r.short).toBe(0);
  });
  it('says how many addresses the subnet lacks', () => {
    const r = carve({
      subnet,
      taken: set('10.0.0.1-10.0.0.8'),
      current: set(),
      allocated: set(),
      desired: 5,
    });
    expect(show(r.target)).toEqual(['10.0.0.9-10.0.0.10']);
    expect(r.short).toBe(3);
  });
  it('shrinks by the highest addresses no pod holds, and keeps held ones', () => {
    const current = set('10.0.0.1-10.0.0.5');
    expect(
      show(carve({ subnet, taken: set(), current, allocated: set('10.0.0.5'), desired: 2 }).target),
    ).toEqual(['10.0.0.1', '10.0.0.5']);
    const held = carve({ subnet, taken: set(), current, allocated: set('10.0.0.2-10.0.0.4'), desired: 1 });
    expect(show(held.target)).toEqual(['10.0.0.2-10.0.0.4']);
    expect(held.held).toBe(2);
  });
  it('drops addresses another pool has or the subnet lost, unless a pod holds them', () => {
    const r = carve({
      subnet,
      taken: set('10.0.0.2'),
      current: set('10.0.0.1-10.0.0.2', '10.0.0.20'),
      allocated: set('10.0.0.20'),
      desired: 3,
    });
    expect(show(r.target)).toEqual(['10.0.0.1', '10.0.0.3', '10.0.0.20']);
  });
});

describe('autoPoolCandidates', () => {
  const pod = (annotations: Record<string, string>) => ({
    metadata: { name: 'web-1', namespace: 'ns', annotations },
  });
  const app = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ns', name: 'web', uid: 'u1' };
  const pool = (uid: string): SpiderIPPool => ({
    metadata: { name: 'auto4-web-eth0-u1', labels: autoPoolLabels({ ...app, uid }, 'sub', 'eth0', 4, true) },
    spec: { subnet: '10.0.0.0/24' },
  });
  const base = {
    ifName: 'eth0',
    app,
    autoPools: true,
    enableIPv4: true,
    enableIPv6: true,
    cleanGateway: false,
  };
  const annotated = pod({ 'ipam.spidernet.io/subnet': '{"ipv4":["sub"]}' });
  it("names the application's pool for the NIC and family", () => {
    const c = autoPoolCandidates({ ...base, pod: annotated, pools: [pool('u1')] });
    expect(c.source).toBe('subnet-auto-pool');
    expect(c.current).toEqual({ nic: 'eth0', cleanGateway: false, ipv4: ['auto4-web-eth0-u1'] });
  });
  it('asks to try again while the pool is missing or belongs to an earlier application of that name', () => {
    for (const pools of [[], [pool('old')]]) {
      let code = '';
      try {
        autoPoolCandidates({ ...base, pod: annotated, pools });
      } catch (e) {
        code = (e as { code: string }).code;
        expect((e as Error).message).toMatch(
          /auto-pool of Deployment ns\/web for eth0 from SpiderSubnet sub does not exist yet/,
        );
      }
      expect(code).toBe('AutoPoolPending');
    }
  });
  it('refuses when auto-pools are off, or the pod has no application', () => {
    expect(() => autoPoolCandidates({ ...base, autoPools: false, pod: annotated, pools: [] })).toThrow(
      /ipam.spidernet.io\/subnet: names a SpiderSubnet, but SpiderSubnet auto-pools are off/,
    );
    expect(() => autoPoolCandidates({ ...base, app: undefined, pod: annotated, pools: [] })).toThrow(
      /has no application/,
    );
  });
  it('takes the VirtualMachine of a launcher pod (same name, UID unknown)', () => {
    expect(
      podApplication('ns', {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
        name: 'vm1',
        uid: 'x',
      }),
    ).toEqual({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', namespace: 'ns', name: 'vm1' });
    expect(podApplication('ns', { apiVersion: 'v1', kind: 'Pod', name: 'p' })).toBeUndefined();
  });
  it('takes a third-party controller as it is and needs its size on the pod (N, or +N counted as N)', () => {
    const clone = { apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', name: 'web', uid: 'k1' };
    expect(podApplication('ns', clone)).toEqual({ ...clone, namespace: 'ns' });
    expect(isThirdPartyController(clone)).toBe(true);
    expect(isThirdPartyController({ apiVersion: 'apps/v1', kind: 'Deployment' })).toBe(false);
    expect(isThirdPartyController({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance' })).toBe(
      false,
    );
    expect(fixedPoolSize({ 'ipam.spidernet.io/ippool-ip-number': '3' }, 'CloneSet ns/web')).toEqual({
      flexible: false,
      n: 3,
    });
    expect(fixedPoolSize({ 'ipam.spidernet.io/ippool-ip-number': '+2' }, 'CloneSet ns/web')).toEqual({
      flexible: false,
      n: 2,
    });
    expect(() => fixedPoolSize({}, 'CloneSet ns/web')).toThrow(
      'ipam.spidernet.io/ippool-ip-number: missing: CloneSet ns/web is a third-party controller',
    );
    expect(() =>
      autoPoolCandidates({ ...base, app: podApplication('ns', clone), pod: annotated, pools: [] }),
    ).toThrow(/ippool-ip-number: missing: CloneSet ns\/web is a third-party controller/);
  });
  it("takes a CronJob's pod's CronJob (Pod → Job → CronJob)", () => {
    expect(
      podApplication('ns', { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly', uid: 'c1' }),
    ).toEqual({ apiVersion: 'batch/v1', kind: 'CronJob', namespace: 'ns', name: 'nightly', uid: 'c1' });
  });
});

describe('planSlot', () => {
  const subnet = (controlled?: Record<string, { ips: string[] }>): SpiderSubnet => ({
    metadata: { name: 'sub' },
    spec: { subnet: '10.0.0.0/24', ips: ['10.0.0.10-10.0.0.20'] },
    ...(controlled ? { status: { controlledIPPools: JSON.stringify(controlled) } } : {}),
  });
  const pool = (name: string, ips: string[], records: Record<string, unknown> = {}): SpiderIPPool => ({
    metadata: { name },
    spec: { subnet: '10.0.0.0/24', ips },
    status: { allocatedIPs: JSON.stringify(records) },
  });
  const base = { poolName: 'auto4-web-eth0-u1', others: [], application: 'apps_v1_Deployment_ns_web' };

  it('books a new pool after what other pools of the subnet have, in the subnet and in manual pools', () => {
    const p = planSlot({
      ...base,
      subnet: subnet({ other: { ips: ['10.0.0.10-10.0.0.11'] } }),
      others: [pool('manual', ['10.0.0.12'])],
      desired: 2,
    });
    expect(p.ips).toEqual(['10.0.0.13-10.0.0.14']);
    expect(p.reserve['auto4-web-eth0-u1']).toEqual({
      ips: ['10.0.0.13-10.0.0.14'],
      application: base.application,
    });
    expect(p.reserve.other).toEqual({ ips: ['10.0.0.10-10.0.0.11'] });
  });
  it('keeps the addresses it gives back booked until the pool has let them go', () => {
    const current = pool(base.poolName, ['10.0.0.10-10.0.0.13'], {
      '10.0.0.13': { pod: 'ns/a', podUid: 'x' },
    });
    const p = planSlot({
      ...base,
      subnet: subnet({ [base.poolName]: { ips: ['10.0.0.10-10.0.0.13'] } }),
      pool: current,
      desired: 2,
    });
    expect(p.ips).toEqual(['10.0.0.10', '10.0.0.13']);
    expect(p.reserve[base.poolName]?.ips).toEqual(['10.0.0.10-10.0.0.13']);
    expect(p.final[base.poolName]?.ips).toEqual(['10.0.0.10', '10.0.0.13']);
  });
  it('refuses to move a pool to a subnet of another CIDR', () => {
    const moved = {
      ...pool(base.poolName, ['10.1.0.1']),
      spec: { subnet: '10.1.0.0/24', ips: ['10.1.0.1'] },
    };
    expect(() => planSlot({ ...base, subnet: subnet(), pool: moved, desired: 1 })).toThrow(
      /cannot move to another subnet/,
    );
  });
  it('drops a gone pool from the books', () => {
    expect(withoutPool({ a: { ips: ['10.0.0.1'] }, b: { ips: [] } }, 'a')).toEqual({ b: { ips: [] } });
  });
});

describe('applicationReplicas', () => {
  it.each([
    ['Deployment', { spec: { replicas: 4 } }, 4],
    ['StatefulSet', { spec: {} }, 1],
    ['DaemonSet', { status: { desiredNumberScheduled: 3 } }, 3],
    ['Job', { spec: { parallelism: 2 } }, 2],
    ['Job', { spec: { parallelism: 2, completions: 5 } }, 5],
    ['Job', { spec: {} }, 1],
    ['CronJob', { spec: { jobTemplate: { spec: { parallelism: 3 } } } }, 3],
    ['CronJob', { spec: { jobTemplate: { spec: { parallelism: 2, completions: 0 } } } }, 1],
    ['CronJob', { spec: { jobTemplate: { spec: {} } } }, 1],
    ['VirtualMachine', { spec: {} }, 1],
  ])('%s %j runs %d pods', (kind, object, n) => {
    expect(applicationReplicas({ kind }, object)).toBe(n);
  });
  it("leaves a Deployment's ReplicaSet to the Deployment and a CronJob's Job to the CronJob", () => {
    const ownedBy = (apiVersion: string, kind: string) => ({
      metadata: { ownerReferences: [{ apiVersion, kind, name: 'd', uid: 'u', controller: true }] },
    });
    expect(isIntermediateController('ReplicaSet', ownedBy('apps/v1', 'Deployment'))).toBe(true);
    expect(isIntermediateController('ReplicaSet', {})).toBe(false);
    expect(isIntermediateController('Job', ownedBy('batch/v1', 'CronJob'))).toBe(true);
    expect(isIntermediateController('Job', ownedBy('example.io/v1', 'Runner'))).toBe(false);
    expect(isIntermediateController('Job', {})).toBe(false);
    expect(isIntermediateController('StatefulSet', ownedBy('apps/v1', 'Deployment'))).toBe(false);
  });
  it("reads a CronJob's pod template from its job template", () => {
    const annotations = { 'ipam.spidernet.io/subnet': '{"ipv4":["sub"]}' };
    expect(
      templateAnnotations({ spec: { jobTemplate: { spec: { template: { metadata: { annotations } } } } } }),
    ).toEqual(annotations);
    expect(templateAnnotations({ spec: { template: { metadata: { annotations } } } })).toEqual(annotations);
  });
});

describe('explainNoAddress for a pod that names a SpiderSubnet', () => {
  const deploymentPod = {
    metadata: {
      name: 'web-abc-1',
      namespace: 'ns',
      annotations: { 'ipam.spidernet.io/subnet': '{"ipv4":["sub"]}' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'rs', controller: true },
      ],
    },
  };
  const rs = {
    name: 'web-abc',
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: true },
    ],
  };
  const app = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ns', name: 'web', uid: 'd1' };
  const autoPool: SpiderIPPool = {
    metadata: { name: 'auto4-web-eth0-d1', labels: autoPoolLabels(app, 'sub', 'eth0', 4, true) },
    spec: { subnet: '10.0.0.0/24', ips: ['10.0.0.5-10.0.0.6'], podAffinity: autoPoolAffinity(app) },
  };
  const base = {
    pod: deploymentPod,
    enableIPv4: true,
    enableIPv6: false,
    nodeName: 'n1',
    multus: { multusNamespace: 'kube-system' },
  };

  it("names the application's auto-pool and its free addresses (podAffinity matched against the Deployment)", () => {
    const e = explainNoAddress({ ...base, pools: [autoPool], autoPools: true, intermediate: rs });
    expect(e).toEqual({
      blocked: false,
      message: expect.stringContaining('eth0 IPv4: usable pools auto4-web-eth0-d1 (2 free)'),
    });
  });
  it('says the pool does not exist yet, or that auto-pools are off', () => {
    expect(explainNoAddress({ ...base, pools: [], autoPools: true, intermediate: rs }).message).toMatch(
      /auto-pool of Deployment ns\/web for eth0 from SpiderSubnet sub does not exist yet/,
    );
    expect(explainNoAddress({ ...base, pools: [autoPool], autoPools: false }).message).toMatch(
      /auto-pools are off/,
    );
  });
});
