import { type CniResult, cidrFamily, formatResult, parseResult } from '../../../cni/protocol/result.js';
import { compareVersions, supportedVersions, versionInfo } from '../../../cni/protocol/versions.js';

const result: CniResult = {
  ips: [
    { address: '198.18.0.5/24', gateway: '198.18.0.1' },
    { address: 'fd00::5/64', gateway: 'fd00::1' },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '198.18.0.1', mtu: 1400, priority: 10 },
    { dst: '::/0', gw: 'fd00::1' },
  ],
  dns: { nameservers: ['198.18.0.53'] },
};

test.each(['0.3.0', '0.3.1', '0.4.0'] as const)(
  '%s carries the version of every IP and no route attributes',
  (v) => {
    expect(formatResult(result, v)).toEqual({
      cniVersion: v,
      ips: [
        { version: '4', address: '198.18.0.5/24', gateway: '198.18.0.1' },
        { version: '6', address: 'fd00::5/64', gateway: 'fd00::1' },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '198.18.0.1' },
        { dst: '::/0', gw: 'fd00::1' },
      ],
      dns: { nameservers: ['198.18.0.53'] },
    });
  },
);

test('1.0.0 drops the IP version and route attributes; 1.1.0 keeps the attributes', () => {
  const v1 = formatResult(result, '1.0.0');
  expect(v1.ips).toEqual([
    { address: '198.18.0.5/24', gateway: '198.18.0.1' },
    { address: 'fd00::5/64', gateway: 'fd00::1' },
  ]);
  expect(v1.routes).toEqual([
    { dst: '0.0.0.0/0', gw: '198.18.0.1' },
    { dst: '::/0', gw: 'fd00::1' },
  ]);
  expect(formatResult(result, '1.1.0').routes).toEqual(result.routes);
});

test('an IPAM result lists no interfaces, no interface indexes, and always has dns', () => {
  const out = formatResult(
    { interfaces: [{ name: 'eth0' }], ips: [{ address: '198.18.0.9/32', interface: 0 }] },
    '1.0.0',
  );
  expect(out).toEqual({ cniVersion: '1.0.0', ips: [{ address: '198.18.0.9/32' }], dns: {} });
  expect(() => formatResult({ ips: [{ address: '198.18.0.9' }] }, '1.0.0')).toThrow(
    /not an address with a prefix/,
  );
});

test('every supported version round-trips through parseResult', () => {
  for (const v of supportedVersions) {
    const back = parseResult(JSON.parse(JSON.stringify(formatResult(result, v))), 'prevResult');
    expect(back.ips).toEqual(result.ips);
    expect(back.routes?.map((r) => r.dst)).toEqual(['0.0.0.0/0', '::/0']);
  }
});

test('cidrFamily accepts only an address with a prefix in range', () => {
  expect(cidrFamily('198.18.0.1/32')).toBe(4);
  expect(cidrFamily('fd00::1/128')).toBe(6);
  expect(cidrFamily('198.18.0.1/33')).toBeUndefined();
  expect(cidrFamily('fd00::1/129')).toBeUndefined();
  expect(cidrFamily('198.18.0.1')).toBeUndefined();
  expect(cidrFamily('x/24')).toBeUndefined();
});

test('VERSION advertises every supported version and answers in the requested one', () => {
  expect(versionInfo('0.4.0')).toEqual({
    cniVersion: '0.4.0',
    supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
  });
  expect(versionInfo('9.9.9').cniVersion).toBe('1.1.0');
  expect(versionInfo(undefined).cniVersion).toBe('1.1.0');
});

test('versions compare numerically', () => {
  expect(compareVersions('0.10.0', '0.4.0')).toBeGreaterThan(0);
  expect(compareVersions('1.0.0', '1.0.0')).toBe(0);
  expect(compareVersions('0.3.1', '0.4.0')).toBeLessThan(0);
});
