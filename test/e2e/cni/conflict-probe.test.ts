// The conflict probes of the compiled plugin between two network namespaces joined by a veth pair
// this test makes: the "other host" holds some addresses; probing from the "pod" side must find
// exactly those.
import { probeForConflicts } from '../../../cni/probe/client.js';
import { pluginBinary } from '../../harness/cni-plugin.js';
import { NetworkLab } from '../../harness/netns.js';

const lab = new NetworkLab();
let podNs: string;
let podIf: string;
let otherMac: string;

beforeAll(async () => {
  pluginBinary();
  const otherNs = await lab.netns();
  podNs = await lab.netns();
  const { a, b } = await lab.vethPair({ aNetns: otherNs, bNetns: podNs });
  podIf = b;
  await lab.addAddress(otherNs, a, '198.18.7.1/24');
  await lab.addAddress(otherNs, a, 'fd00:7::1/64', true);
  const { execFileSync } = await import('node:child_process');
  const link = JSON.parse(
    execFileSync('ip', ['-n', otherNs, '-j', 'link', 'show', a], { encoding: 'utf8' }),
  ) as Array<{ address: string }>;
  otherMac = link[0]?.address ?? '';
}, 120_000);

afterAll(() => lab.cleanup());

const probe = (addresses: string[]) =>
  probeForConflicts({ netns: lab.netnsPath(podNs), ifname: podIf, addresses, executable: pluginBinary() });

test('an IPv4 address in use answers the ARP probe; a free one does not', async () => {
  expect(await probe(['198.18.7.1/24', '198.18.7.2/24'])).toEqual([
    { address: '198.18.7.1', conflict: true, mac: otherMac },
    { address: '198.18.7.2', conflict: false },
  ]);
});

test('an IPv6 address in use answers duplicate address detection; a free one does not', async () => {
  expect(await probe(['fd00:7::1', 'fd00:7::2'])).toEqual([
    { address: 'fd00:7::1', conflict: true, mac: otherMac },
    { address: 'fd00:7::2', conflict: false },
  ]);
});

test('the probe runs in the pod namespace only: the host has no such interface', async () => {
  await expect(
    probeForConflicts({
      netns: '/proc/self/ns/net',
      ifname: podIf,
      addresses: ['198.18.7.1'],
      executable: pluginBinary(),
    }),
  ).rejects.toThrow(new RegExp(`ioctl\\(SIOCGIFINDEX, ${podIf}\\) failed`));
});

test('bad probe arguments are refused with the argument named', async () => {
  await expect(
    probeForConflicts({
      netns: lab.netnsPath(podNs),
      ifname: podIf,
      addresses: ['not-an-ip'],
      executable: pluginBinary(),
    }),
  ).rejects.toThrow('not an IP address: "not-an-ip"');
});
