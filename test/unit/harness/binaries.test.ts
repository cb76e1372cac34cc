import { goBinaryName, testBedModules, toolModules } from '../../harness/binaries.js';

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

test('testbed:build builds every tools module but the benchmark peers, which npm run bench builds', () => {
  expect(testBedModules).toEqual(['etcd', 'k8s', 'kubevirt']);
  expect(Object.keys(toolModules)).toEqual(expect.arrayContaining(['whereabouts', 'spiderpool']));
});
