import { parseCniArgs } from '../../../cni/protocol/args.js';
import { parseEnvironment, validateInterfaceName } from '../../../cni/protocol/env.js';
import { cniFailure } from './helpers.js';

const base = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c0ffee.1_a-b',
  CNI_NETNS: '/var/run/netns/t1',
  CNI_IFNAME: 'net1',
  CNI_PATH: '/usr/lib/cni:/opt/cni/bin',
  CNI_ARGS:
    'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1;K8S_POD_INFRA_CONTAINER_ID=c1;K8S_POD_UID=u1',
};

test('a complete ADD environment parses with its pod arguments', () => {
  const env = parseEnvironment(base);
  expect(env).toEqual({
    command: 'ADD',
    containerId: 'c0ffee.1_a-b',
    netns: '/var/run/netns/t1',
    ifname: 'net1',
    path: ['/usr/lib/cni', '/opt/cni/bin'],
    args: {
      ignoreUnknown: true,
      podNamespace: 'default',
      podName: 'p1',
      podInfraContainerId: 'c1',
      podUid: 'u1',
      unknown: {},
    },
  });
});

test.each([
  ['ADD', 'CNI_NETNS'],
  ['ADD', 'CNI_IFNAME'],
  ['CHECK', 'CNI_NETNS'],
  ['DEL', 'CNI_CONTAINERID'],
  ['DEL', 'CNI_PATH'],
  ['GC', 'CNI_PATH'],
])('%s without %s is code 4 naming the variable', (command, name) => {
  const env: Record<string, string | undefined> = { ...base, CNI_COMMAND: command, [name]: undefined };
  const err = cniFailure(() => parseEnvironment(env));
  expect(err.code).toBe(4);
  expect(err.message).toContain(name);
});

test('DEL needs no network namespace, STATUS and VERSION need nothing but the command', () => {
  expect(parseEnvironment({ ...base, CNI_COMMAND: 'DEL', CNI_NETNS: undefined }).netns).toBeUndefined();
  expect(parseEnvironment({ CNI_COMMAND: 'STATUS' }).command).toBe('STATUS');
  expect(parseEnvironment({ CNI_COMMAND: 'VERSION', CNI_ARGS: 'garbage' }).command).toBe('VERSION');
});

test('a missing or unknown command is code 4 naming CNI_COMMAND', () => {
  expect(cniFailure(() => parseEnvironment({})).message).toMatch(/^CNI_COMMAND: missing/);
  const err = cniFailure(() => parseEnvironment({ ...base, CNI_COMMAND: 'ATTACH' }));
  expect(err.code).toBe(4);
  expect(err.message).toContain('"ATTACH"');
});

test.each(['-abc', '.x', 'a b', 'a/b', 'ä'])('container id %j is refused', (id) => {
  const err = cniFailure(() => parseEnvironment({ ...base, CNI_CONTAINERID: id }));
  expect(err.code).toBe(4);
  expect(err.message).toContain(`CNI_CONTAINERID: ${JSON.stringify(id)}`);
});

test.each([
  ['a'.repeat(16), 'longer than 15'],
  ['.', 'not a valid'],
  ['..', 'not a valid'],
  ['eth0:1', '"/", ":" or whitespace'],
  ['a/b', '"/", ":" or whitespace'],
  ['a b', '"/", ":" or whitespace'],
  ['a\tb', '"/", ":" or whitespace'],
])('interface name %j is refused (%s)', (name, why) => {
  const err = cniFailure(() => validateInterfaceName(name));
  expect(err.code).toBe(4);
  expect(err.message).toContain('CNI_IFNAME');
  expect(err.message).toContain(why);
});

test('a 15-character interface name is fine', () => {
  expect(() => validateInterfaceName('a'.repeat(15))).not.toThrow();
});

test('unknown CNI_ARGS keys need IgnoreUnknown', () => {
  const err = cniFailure(() => parseCniArgs('K8S_POD_NAME=p;FOO=bar'));
  expect(err.code).toBe(4);
  expect(err.message).toContain('FOO');
  expect(parseCniArgs('IgnoreUnknown=true;FOO=bar;K8S_POD_NAME=p')).toEqual({
    ignoreUnknown: true,
    podName: 'p',
    unknown: { FOO: 'bar' },
  });
});

test('CNI_ARGS pairs must have a key and an equals sign; values may contain one', () => {
  expect(cniFailure(() => parseCniArgs('IgnoreUnknown=1;novalue')).message).toContain('"novalue"');
  expect(cniFailure(() => parseCniArgs('=x')).message).toContain('"=x"');
  expect(cniFailure(() => parseCniArgs('IgnoreUnknown=maybe')).message).toContain('IgnoreUnknown="maybe"');
  expect(parseCniArgs('K8S_POD_UID=a=b;;').podUid).toBe('a=b');
});

test('K8S_POD_NAMESPACE and K8S_POD_NAME must be Kubernetes names: `..` would be another API path', () => {
  for (const [pair, shown] of [
    ['K8S_POD_NAME=..', 'K8S_POD_NAME=".." is not a pod name'],
    ['K8S_POD_NAME=.', 'K8S_POD_NAME="." is not a pod name'],
    ['K8S_POD_NAME=a/b', 'K8S_POD_NAME="a/b"'],
    ['K8S_POD_NAME=UPPER', 'K8S_POD_NAME="UPPER"'],
    [`K8S_POD_NAME=${'a'.repeat(254)}`, 'K8S_POD_NAME="aaa'],
    ['K8S_POD_NAMESPACE=a.b', 'K8S_POD_NAMESPACE="a.b" is not a namespace name'],
    [`K8S_POD_NAMESPACE=${'a'.repeat(64)}`, 'K8S_POD_NAMESPACE="aaa'],
  ] as const) {
    const err = cniFailure(() => parseCniArgs(pair));
    expect(err.code).toBe(4);
    expect(err.message).toContain(`CNI_ARGS: ${shown}`);
  }
  expect(parseCniArgs('K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=web-0.web').podName).toBe('web-0.web');
  expect(parseCniArgs(`K8S_POD_NAME=${'a'.repeat(253)}`).podName).toHaveLength(253);
});
