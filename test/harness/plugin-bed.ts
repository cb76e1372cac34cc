// The set-up most plugin test files share, registered as jest hooks: a PluginTestbed and a namespace
// of its own before the file's tests, everything removed after them. The fields are filled in by the
// beforeAll hook, so a test file reads them inside its own hooks and tests, never at load time; a
// file that needs more (a pool, a binary) adds its own beforeAll after calling this.
import type { TestNode } from './cni-plugin.js';
import { NetworkLab } from './netns.js';
import { type ClusterFixtures, PluginTestbed } from './spiderpool-api.js';

export interface PluginBed {
  testbed: PluginTestbed;
  fixtures: ClusterFixtures;
  namespace: string;
}

export function usePluginBed(prefix: string, namespacePrefix: string): PluginBed {
  const bed = {} as PluginBed;
  beforeAll(async () => {
    bed.testbed = await PluginTestbed.start(prefix);
    bed.fixtures = bed.testbed.fixtures;
    bed.namespace = await bed.fixtures.namespace(namespacePrefix);
  }, 120_000);
  afterAll(() => bed.testbed?.close());
  return bed;
}

export interface MacvlanBed extends PluginBed {
  lab: NetworkLab;
  /** The simulated node the file's calls run on. */
  node: TestNode;
  /** macvlan's master: a veth end in the host namespace whose peer sits in a namespace of its own. */
  master: string;
}

/** A PluginBed with one simulated node and a master link for Debian's macvlan plugin. */
export function useMacvlanBed(prefix: string, nodeName: string, namespacePrefix: string): MacvlanBed {
  const bed = usePluginBed(prefix, namespacePrefix) as MacvlanBed;
  bed.lab = new NetworkLab();
  beforeAll(async () => {
    bed.node = bed.testbed.node(nodeName);
    bed.master = (await bed.lab.vethPair({ bNetns: await bed.lab.netns() })).a;
  }, 120_000);
  afterAll(() => bed.lab.cleanup());
  return bed;
}
