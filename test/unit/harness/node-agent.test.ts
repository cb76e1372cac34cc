import type { V1Pod } from '@kubernetes/client-node';
import type { VirtualMachineInstance } from '../../../api/index.js';
import { networkStatus, parseNadConfig, planAttachments } from '../../harness/multus/delegation.js';
import { liveMigratableCondition } from '../../harness/node-agent/migratable.js';
import { imageId, isRunningAsWanted, runningStatus } from '../../harness/node-agent/pod-status.js';
import { mutateMigration } from '../../harness/node-agent/webhook.js';

const settings = { multusNamespace: 'kube-system', clusterDefaultNetwork: 'kube-system/cluster-net' };

function pod(annotations: Record<string, string>): V1Pod {
  return { metadata: { name: 'p', namespace: 'app', uid: 'u', annotations }, spec: { containers: [] } };
}

describe('Multus delegation plan', () => {
  it('attaches the cluster network as eth0, then each network as its interface or net<position>', () => {
    const plans = planAttachments(
      pod({
        'k8s.v1.cni.cncf.io/networks': JSON.stringify([
          { name: 'a', interface: 'pod16477688c0e' },
          { name: 'b', namespace: 'other', ips: ['198.18.0.5/24'], mac: '02:00:00:00:00:05' },
        ]),
      }),
      settings,
    );
    expect(plans.map((p) => [p.ifname, `${p.selection.namespace}/${p.selection.name}`, p.isDefault])).toEqual(
      [
        ['eth0', 'kube-system/cluster-net', true],
        ['pod16477688c0e', 'app/a', false],
        ['net2', 'other/b', false],
      ],
    );
    expect(plans[2]?.selection).toMatchObject({ ips: ['198.18.0.5/24'], mac: '02:00:00:00:00:05' });
  });

  it('takes the default-network annotation over the cluster network, in Multus namespace', () => {
    const plans = planAttachments(pod({ 'v1.multus-cni.io/default-network': 'macvlan-ens192' }), settings);
    expect(plans.map((p) => `${p.ifname}=${p.selection.namespace}/${p.selection.name}`)).toEqual([
      'eth0=kube-system/macvlan-ens192',
    ]);
  });

  it('refuses a pod with no default network and two networks on one interface', () => {
    expect(() => planAttachments(pod({}), { multusNamespace: 'kube-system' })).toThrow(
      /no v1.multus-cni.io\/default-network and no cluster default network/,
    );
    expect(() => planAttachments(pod({ 'k8s.v1.cni.cncf.io/networks': 'a@x, b@x' }), settings)).toThrow(
      /two networks would be attached as x/,
    );
  });

  it('reads a conf or a conflist, naming it after the NAD when it has no name', () => {
    expect(parseNadConfig('{"cniVersion":"1.0.0","type":"macvlan"}', 'ns/mv')).toEqual({
      name: 'mv',
      cniVersion: '1.0.0',
      plugins: [{ cniVersion: '1.0.0', type: 'macvlan' }],
    });
    const list = parseNadConfig(
      '{"cniVersion":"0.4.0","name":"chain","plugins":[{"type":"bridge"},{"type":"tuning"}]}',
      'ns/x',
    );
    expect([list.name, list.cniVersion, list.plugins.map((p) => p.type)]).toEqual([
      'chain',
      '0.4.0',
      ['bridge', 'tuning'],
    ]);
    expect(() => parseNadConfig('{"plugins":[{}]}', 'ns/x')).toThrow(
      /ns\/x: spec.config plugin 0 has no type/,
    );
    expect(() => parseNadConfig('nope', 'ns/x')).toThrow(/ns\/x: spec.config is not JSON/);
  });

  it('reports an attachment in network-status as Multus does', () => {
    const plan = planAttachments(pod({}), settings)[0];
    if (!plan) throw new Error('no plan');
    const status = networkStatus({
      plan,
      network: { name: 'cluster-net', cniVersion: '1.0.0', plugins: [] },
      confs: [],
      result: {
        interfaces: [{ name: 'eth0', mac: '02:aa:bb:cc:dd:ee', sandbox: '/var/run/netns/x' }],
        ips: [{ address: '198.18.80.10/24', gateway: '198.18.80.1', interface: 0 }],
      },
    });
    expect(status).toEqual({
      name: 'kube-system/cluster-net',
      interface: 'eth0',
      ips: ['198.18.80.10'],
      mac: '02:aa:bb:cc:dd:ee',
      default: true,
      dns: {},
      gateway: ['198.18.80.1'],
    });
  });
});

describe('LiveMigratable (KubeVirt v1.6.0 VerifyVMIMigratable)', () => {
  const vmi = (iface: Record<string, unknown>, annotations?: Record<string, string>, pod = true) =>
    ({
      metadata: { name: 'v', annotations },
      spec: {
        networks: [pod ? { name: 'default', pod: {} } : { name: 'default', multus: { networkName: 'x' } }],
        domain: { devices: { interfaces: [{ name: 'default', ...iface }] } },
      },
    }) as VirtualMachineInstance;
  const allow = { 'kubevirt.io/allow-pod-bridge-network-live-migration': '' };

  it.each([
    ['masquerade', vmi({ masquerade: {} }), 'True'],
    ['passtBinding', vmi({ passtBinding: {} }), 'True'],
    ['bridge', vmi({ bridge: {} }), 'False'],
    ['bridge with the annotation', vmi({ bridge: {} }, allow), 'True'],
    ['legacy passt', vmi({ passt: {} }), 'False'],
    ['a binding plugin without migration', vmi({ binding: { name: 'passt' } }), 'False'],
    ['only Multus networks (bridge)', vmi({ bridge: {} }, undefined, false), 'True'],
  ])('%s -> %s', (_, v, expected) => {
    const condition = liveMigratableCondition(v);
    expect(condition.status).toBe(expected);
    if (expected === 'False') expect(condition.reason).toBe('InterfaceNotLiveMigratable');
  });

  it('a binding plugin the KubeVirt CR gives a migration method migrates', () => {
    const plugins = { passt: { migration: { method: 'link-refresh' } } };
    expect(liveMigratableCondition(vmi({ binding: { name: 'passt' } }), plugins).status).toBe('True');
  });
});

describe('pod status as kubelet writes it', () => {
  it('gives every image a digest', () => {
    expect(imageId('quay.io/kubevirt/virt-launcher:v1.6.0')).toMatch(
      /^quay\.io\/kubevirt\/virt-launcher@sha256:[0-9a-f]{64}$/,
    );
    const pinned = `quay.io/x@sha256:${'a'.repeat(64)}`;
    expect(imageId(pinned)).toBe(pinned);
  });

  it('is Ready only once the readiness gates are met', () => {
    const p: V1Pod = {
      metadata: { name: 'p' },
      spec: {
        containers: [{ name: 'compute', image: 'virt-launcher' }],
        readinessGates: [{ conditionType: 'kubevirt.io/virtual-machine-unpaused' }],
      },
    };
    const sandbox = { containerId: 'c', podIPs: ['198.18.80.10'], startedAt: '2026-01-01T00:00:00Z' };
    const status = runningStatus(p, sandbox) as { conditions: Array<{ type: string; status: string }> };
    expect(status.conditions.find((c) => c.type === 'Ready')?.status).toBe('False');
    const gated: V1Pod = {
      ...p,
      status: {
        ...(status as object),
        conditions: [
          ...(status.conditions as never[]),
          { type: 'kubevirt.io/virtual-machine-unpaused', status: 'True' },
        ],
      },
    };
    expect(isRunningAsWanted(gated, ['198.18.80.10'])).toBe(false);
    const ready = runningStatus(gated, sandbox) as { conditions: Array<{ type: string; status: string }> };
    expect(ready.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
  });
});

describe('virt-api migration mutation', () => {
  it('labels the migration with its VMI and adds the finalizer once', () => {
    const vmim = { metadata: { name: 'm', namespace: 'ns' }, spec: { vmiName: 'vm1' } };
    expect(mutateMigration(vmim)).toEqual([
      { op: 'add', path: '/metadata/labels', value: {} },
      { op: 'add', path: '/metadata/labels/kubevirt.io~1vmi-name', value: 'vm1' },
      { op: 'add', path: '/metadata/finalizers', value: ['kubevirt.io/migrationJobFinalize'] },
    ]);
    const done = {
      ...vmim,
      metadata: { ...vmim.metadata, labels: {}, finalizers: ['kubevirt.io/migrationJobFinalize'] },
    };
    expect(mutateMigration(done)).toEqual([
      { op: 'add', path: '/metadata/labels/kubevirt.io~1vmi-name', value: 'vm1' },
    ]);
  });
});
