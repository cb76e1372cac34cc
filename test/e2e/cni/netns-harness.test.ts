// The network-namespace harness itself: what it makes is there, what it reads is right, and
// cleanup() leaves nothing behind.
import { execFileSync } from 'node:child_process';
import { NetworkLab } from '../../harness/netns.js';

test('namespaces, veth pairs and bridges are made, read and removed again', async () => {
  const lab = new NetworkLab();
  let ns = '';
  let names: { a: string; b: string } = { a: '', b: '' };
  let bridge = '';
  try {
    ns = await lab.netns();
    names = await lab.vethPair({ bNetns: ns });
    bridge = await lab.bridge();
    expect(names.a.length).toBeLessThanOrEqual(15);
    expect(await lab.linkExists(names.a)).toBe(true);
    expect(await lab.linkExists(names.b)).toBe(false); // moved into the namespace
    expect(await lab.linkExists(names.b, ns)).toBe(true);
    expect(await lab.linkExists(bridge)).toBe(true);

    await lab.addAddress(ns, names.b, '198.18.9.2/24');
    await lab.addAddress(ns, names.b, 'fd00:9::2/64', true);
    const addresses = (await lab.addresses(ns, names.b)).map((a) => `${a.local}/${a.prefixlen}`);
    expect(addresses).toEqual(expect.arrayContaining(['198.18.9.2/24', 'fd00:9::2/64']));
    expect(await lab.routes(ns, 4)).toEqual([
      expect.objectContaining({ dst: '198.18.9.0/24', dev: names.b }),
    ]);
    expect((await lab.routes(ns, 6)).map((r) => r.dst)).toContain('fd00:9::/64');
  } finally {
    await lab.cleanup();
  }
  expect(await lab.linkExists(names.a)).toBe(false);
  expect(await lab.linkExists(bridge)).toBe(false);
  expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(ns);
});
