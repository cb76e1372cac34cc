// The checks compiled ahead of time (cni/protocol/checks.generated.ts) against the TypeBox schemas
// they come from: the checked-in file is what build/schema-checks.ts writes today, each check agrees
// with TypeBox's own on valid and invalid values, and a failure still names the field and the value.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { compiledSchemas, schemaChecksFile, schemaChecksSource } from '../../../build/schema-checks.js';
import { parseNodeConfig } from '../../../cni/node-config.js';
import * as checks from '../../../cni/protocol/checks.generated.js';
import { parseNetConf } from '../../../cni/protocol/config.js';
import { attachmentFile, readAttachment } from '../../../cni/state/attachments.js';
import { cniFailure } from './helpers.js';

const validSamples: Record<string, unknown> = {
  netConf: {
    cniVersion: '1.0.0',
    name: 'net1',
    type: 'macvlan',
    ipam: {
      type: 'spiderpool',
      log_file_max_size: 10,
      default_ipv4_ippool: ['pool-a'],
      clean_gateway: true,
      kubernetes: { kubeconfig: '/etc/k' },
    },
    prevResult: { anything: 1 },
    'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'eth0' }],
  },
  nodeConfig: { nodeName: 'n1', enableIPv4: true, ippoolMaxAllocatedIPs: 5000, pluginLeaderLingerMs: 0 },
  attachmentRecord: {
    containerId: 'c1',
    ifname: 'eth0',
    network: 'net1',
    pod: { namespace: 'ns', name: 'p', uid: 'u1' },
    state: 'added',
    identity: { key: 'ns/p', static: false },
    addresses: ['198.18.0.2/24'],
    pools: ['pool-a'],
    time: '2026-12-06T00:00:00.000Z',
  },
};

/** Values that break the sample one way each: wrong types, empty strings, out of range, missing keys. */
function variants(value: unknown, depth = 0): unknown[] {
  if (typeof value !== 'object' || value === null || depth > 3) return [];
  const out: unknown[] = [null, [], 'text', 7];
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [key, v] of entries) {
    const rest = Object.fromEntries(entries.filter(([k]) => k !== key));
    out.push(rest);
    for (const bad of [null, '', 'x', -1, 0, 1.5, 700_000, true, [], [''], {}])
      if (bad !== v) out.push({ ...rest, [key]: bad });
    for (const inner of variants(v, depth + 1)) out.push({ ...rest, [key]: inner });
  }
  return out;
}

test('the checked-in checks are what build/schema-checks.ts writes from the schemas today', () => {
  expect(readFileSync(schemaChecksFile, 'utf8')).toBe(schemaChecksSource());
});

test.each(compiledSchemas.map(([name, schema]) => [name, schema] as const))(
  "the compiled %s check agrees with TypeBox's on valid and invalid values",
  (name, schema) => {
    const check = (checks as Record<string, (value: unknown) => boolean>)[name] as (v: unknown) => boolean;
    const sample = validSamples[name];
    expect(check(sample)).toBe(true);
    const cases = variants(sample);
    expect(cases.length).toBeGreaterThan(30);
    let invalid = 0;
    for (const value of cases) {
      expect([value, check(value)]).toEqual([value, Value.Check(schema(), value)]);
      if (!check(value)) invalid++;
    }
    expect(invalid).toBeGreaterThan(cases.length / 2);
  },
);

test('a value the compiled check refuses is still explained by field and value', () => {
  const conf = { cniVersion: '1.0.0', name: 'net1', ipam: { type: 'spiderpool', log_file_max_size: '100' } };
  expect(cniFailure(() => parseNetConf(JSON.stringify(conf), 'ADD')).message).toBe(
    'ipam.log_file_max_size: expected integer, got "100"',
  );
  expect(cniFailure(() => parseNodeConfig('{"enableIPv4": "yes"}', '/etc/x.json')).message).toBe(
    'node configuration /etc/x.json: enableIPv4: expected boolean, got "yes"',
  );
  const dir = mkdtempSync(join(tmpdir(), 'schema-checks-'));
  try {
    const record = { ...(validSamples.attachmentRecord as object), state: 'gone' };
    writeFileSync(attachmentFile(dir, 'c1', 'eth0'), JSON.stringify(record));
    expect(() => readAttachment(dir, 'c1', 'eth0')).toThrow(/: state: .*"gone"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
