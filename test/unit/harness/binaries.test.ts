import { goBinaryName } from '../../harness/binaries.js';

test.each([
  ['go.etcd.io/etcd/server/v3', 'server'],
  ['k8s.io/kubernetes/cmd/kube-apiserver', 'kube-apiserver'],
  ['./crdgen', 'crdgen'],
  ['example.com/tool/v12', 'tool'],
  ['example.com/v2tool', 'v2tool'],
  ['example.com/tool/v1', 'v1'],
  ['example.com/tool/v0', 'v0'],
])('go build -o dir/ names the binary of %s %s', (pkg, name) => {
  expect(goBinaryName(pkg)).toBe(name);
});
