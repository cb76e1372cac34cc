// The optional IPAMClaim support in the synthesized installation: off by default (no CRD, no RBAC,
// no conf.yml key), all three with `--set ipam.enableIPAMClaim=true`.
import { parse } from 'yaml';
import { ipamClaimCrd } from '../../../api/crds.js';
import { installationManifests } from '../../../cdk8s/app.js';
import { resolveValues } from '../../../cdk8s/values/resolve.js';

type Obj = {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  spec?: { versions: { schema: { openAPIV3Schema: { properties: Record<string, unknown> } } }[] };
};

function synth(sets: string[] = []): Obj[] {
  return installationManifests(resolveValues({ version: '9.9.9', sets })).flatMap(
    (c) => c.objects as unknown as Obj[],
  );
}

const claimRules = (objects: Obj[], role: string) =>
  (objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === role)?.rules ?? []).filter((r) =>
    r.resources.some((x) => x.startsWith('ipamclaims')),
  );
const confOf = (objects: Obj[]) =>
  parse(
    objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'spiderpool-conf')?.data?.[
      'conf.yml'
    ] ?? '',
  );
const claimCrd = (objects: Obj[]) =>
  objects.find(
    (o) => o.kind === 'CustomResourceDefinition' && o.metadata.name === 'ipamclaims.k8s.cni.cncf.io',
  );

test('off by default: no IPAMClaim CRD, no RBAC for it, no conf.yml key', () => {
  const objects = synth();
  expect(claimCrd(objects)).toBeUndefined();
  expect(claimRules(objects, 'spiderpool-cni')).toEqual([]);
  expect(claimRules(objects, 'spiderpool-operator')).toEqual([]);
  expect(confOf(objects).enableIPAMClaim).toBeUndefined();
});

test('ipam.enableIPAMClaim=true emits the CRD, the plugin and operator rules and the conf.yml key', () => {
  const objects = synth(['ipam.enableIPAMClaim=true']);
  const crd = claimCrd(objects);
  expect(crd?.spec?.versions[0]?.schema.openAPIV3Schema.properties).toEqual(
    ipamClaimCrd.spec.versions[0]?.schema.openAPIV3Schema.properties,
  );
  expect(claimRules(objects, 'spiderpool-cni')).toEqual([
    expect.objectContaining({ resources: ['ipamclaims'], verbs: ['get'] }),
    expect.objectContaining({ resources: ['ipamclaims/status'], verbs: ['update'] }),
  ]);
  expect(claimRules(objects, 'spiderpool-operator')).toEqual([
    expect.objectContaining({ resources: ['ipamclaims'], verbs: ['get', 'list', 'watch'] }),
    expect.objectContaining({ resources: ['ipamclaims/status'], verbs: ['get', 'update'] }),
  ]);
  expect(confOf(objects).enableIPAMClaim).toBe(true);
});

test("the CRD has upstream's names, scope, status subresource and fields", () => {
  const v = ipamClaimCrd.spec.versions[0];
  expect(ipamClaimCrd.name).toBe('ipamclaims.k8s.cni.cncf.io');
  expect(ipamClaimCrd.spec.scope).toBe('Namespaced');
  expect(ipamClaimCrd.spec.names.kind).toBe('IPAMClaim');
  expect(v?.name).toBe('v1alpha1');
  expect(v?.subresources).toEqual({ status: {} });
  const props = v?.schema.openAPIV3Schema.properties ?? {};
  expect(Object.keys(props.spec?.properties ?? {}).sort()).toEqual(['interface', 'ipRequests', 'network']);
  expect(props.spec?.required).toEqual(['network', 'interface']);
  expect(Object.keys(props.status?.properties ?? {}).sort()).toEqual(['conditions', 'ips', 'ownerPod']);
  expect(props.status?.properties?.ips?.items?.type).toBe('string');
  expect(props.status?.properties?.ownerPod?.type).toBe('string');
});

test('an unknown value for the switch is refused naming the key', () => {
  expect(() => synth(['ipam.enableIPAMClaim=yes'])).toThrow(/ipam\.enableIPAMClaim must be true or false/);
});
