import { goBinaryName, minorOf, testBedModules, toolModules } from '../../harness/binaries.js';

test.each([
  ['go.etcd.io/etcd/server/v3', 'server'],
  ['k8s.io/kubernetes/cmd/kube-apiserver', 'kube-apiserver'],
  ['./crdgen', 'crdgen'],
  ['example.com/tool/v12', 'tool'],
  ['example.com/v2tool', 'v2tool'],
  ['example.com/tool/v1', 'v1'],
  ['example.com/tool/v0', 'v0'],
  ['github.com/k8snetworkplumbingwg/whereabouts/cmd', 'cmd'],
])('go build -o dir/ names the binary of %s %s', (pkg, name) => {
  expect(goBinaryName(pkg)).toBe(name);
});

test.each([
  ['v1.34.2', '1.34'],
  ['v1.32.4-dispatcher', '1.32'],
  ['1.35.0', '1.35'],
  ['v1', undefined],
  ['', undefined],
])('the minor version of %s is %s', (version, minor) => {
  expect(minorOf(version)).toBe(minor);
});

test('testbed:build builds every tools module but the benchmark peers, which npm run bench builds', () => {
  expect(testBedModules).toEqual(['etcd', 'k8s', 'kubevirt']);
  expect(Object.keys(toolModules)).toEqual(expect.arrayContaining(['whereabouts', 'spiderpool']));
});
