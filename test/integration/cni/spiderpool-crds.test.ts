// The test harness's CRD installer on a private control plane (it changes CRDs, which the shared one
// must not see): the CRDs keep every field of api/crds.ts, CEL rules inside `properties` included,
// and a CRD that differs (here: one made without its CEL rules, as client-node's typed call made
// them) is brought back to the definition.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { ippoolCrd, spiderpoolCrds } from '../../../api/crds.js';
import { RestClient } from '../../../kube/rest.js';
import { kubeConfig } from '../../harness/clients.js';
import { ControlPlane } from '../../harness/control-plane.js';
import { crdSpecDigestAnnotation, ensureSpiderpoolCrds } from '../../harness/spiderpool-api.js';

let dir: string;
let cp: ControlPlane;
let admin: KubeConfig;
let rest: RestClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spiderpool-crds-'));
  cp = await ControlPlane.start({ dir, scheduler: false, controllerManager: false });
  admin = kubeConfig('admin', cp);
  rest = new RestClient(admin);
}, 120_000);

afterAll(async () => {
  rest?.close();
  await cp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Crd {
  metadata: { resourceVersion?: string; annotations?: Record<string, string> };
  spec: { versions: Array<{ schema: { openAPIV3Schema: unknown } }> };
}

const path = (name: string) => `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`;

/** Every `x-kubernetes-validations` rule text in a schema, with where it stands. */
function celRules(schema: unknown, at = ''): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const out: string[] = [];
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'x-kubernetes-validations' && Array.isArray(value))
      for (const rule of value) out.push(`${at}: ${(rule as { rule: string }).rule}`);
    else out.push(...celRules(value, `${at}/${key}`));
  }
  return out;
}

test('created CRDs keep the schema of api/crds.ts, CEL rules inside properties included', async () => {
  await ensureSpiderpoolCrds(admin);
  for (const crd of spiderpoolCrds) {
    const stored = await rest.get<Crd>(path(crd.name));
    const want = crd.spec.versions[0]?.schema.openAPIV3Schema;
    expect(stored.spec.versions[0]?.schema.openAPIV3Schema).toEqual(want);
    // The server keeps properties in name order, so compare the rules as sets.
    expect(celRules(stored.spec.versions[0]?.schema.openAPIV3Schema).sort()).toEqual(celRules(want).sort());
  }
  expect(celRules(ippoolCrd.spec.versions[0]?.schema.openAPIV3Schema).length).toBeGreaterThan(3);
}, 60_000);

test('an existing CRD that differs is updated; an equal one is left alone', async () => {
  const name = ippoolCrd.name;
  const stored = await rest.get<Crd & { spec: Record<string, unknown> }>(path(name));
  // What client-node's typed create made of it: no CEL rules, and no digest of ours.
  const stripped = JSON.parse(JSON.stringify(stored), (key, value) =>
    key === 'x-kubernetes-validations' ? undefined : value,
  ) as Crd;
  delete stripped.metadata.annotations?.[crdSpecDigestAnnotation];
  await rest.request('PUT', path(name), { body: stripped });
  expect(celRules((await rest.get<Crd>(path(name))).spec.versions[0]?.schema.openAPIV3Schema)).toEqual([]);

  await ensureSpiderpoolCrds(admin);
  const restored = await rest.get<Crd>(path(name));
  expect(restored.spec.versions[0]?.schema.openAPIV3Schema).toEqual(
    ippoolCrd.spec.versions[0]?.schema.openAPIV3Schema,
  );

  await ensureSpiderpoolCrds(admin);
  expect((await rest.get<Crd>(path(name))).metadata.resourceVersion).toBe(restored.metadata.resourceVersion);
}, 60_000);
