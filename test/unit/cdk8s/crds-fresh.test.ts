// crds/ is generated: this fails when someone changes api/ (or the Multus CRD) without running
// `npm run synth`, or edits a CRD file by hand.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crdFiles } from '../../../cdk8s/crd-files.js';

const dir = join(process.cwd(), 'crds');

test('crds/ holds exactly the CRD files synth writes, byte for byte (run `npm run synth` to refresh)', () => {
  const expected = crdFiles();
  const onDisk = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  expect(onDisk.sort()).toEqual([...expected.keys()].sort());
  for (const [name, content] of expected) {
    expect([name, readFileSync(join(dir, name), 'utf8')]).toEqual([name, content]);
  }
});

test('the CRD files are what the CRD chart puts into dist/manifests', () => {
  const files = crdFiles();
  expect([...files.keys()]).toContain('spiderpool.spidernet.io_spiderippools.yaml');
  const pool = files.get('spiderpool.spidernet.io_spiderippools.yaml') ?? '';
  expect(pool).toContain('kind: CustomResourceDefinition');
  expect(pool).toContain('x-kubernetes-validations');
});
