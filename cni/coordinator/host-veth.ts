// Applies coordinator/host-veth.ts's plan: the veth pair of the pod's first NIC (made in the pod's
// namespace, its peer moved to the namespace the plugin runs in, the node's), the node's rules and
// routes to the NIC's addresses through it, the pod's routes to the node's addresses through veth0,
// and podRPFilter. DEL undoes what was recorded; CHECK names a recorded node rule that is missing.
import { type HostVethPlan, hostVethName, planHostVeth, podVethName } from '../../coordinator/host-veth.js';
import type { CoordinatorSettings } from '../../coordinator/plan.js';
import { CniError, ErrorCode } from '../protocol/errors.js';
import { globalAddresses, ipHost, ipHostJson, ipIn, ipJson, type LinkInfo, shIn } from './ip.js';

/** What a NIC's ADD made for host reachability, for DEL and CHECK. */
export interface RecordedHostVeth {
  hostVeth: string;
  /** True for the first NIC: its DEL removes the pair. */
  madePair: boolean;
  hostRules: HostVethPlan['hostRules'];
  hostRoutes: HostVethPlan['hostRoutes'];
}

const familyOf = (prefix: string) => (prefix.includes(':') ? '-6' : '-4');

interface RuleInfo {
  dst?: string;
  dstlen?: number;
  table?: string;
}

async function hostRules(): Promise<RuleInfo[]> {
  return [
    ...(await ipHostJson<RuleInfo[]>(['-4', 'rule', 'show'])),
    ...(await ipHostJson<RuleInfo[]>(['-6', 'rule', 'show'])),
  ];
}

const hasRule = (present: RuleInfo[], rule: { to: string; table: number }) => {
  const [dst, len] = rule.to.split('/');
  const full = dst?.includes(':') ? 128 : 32;
  return present.some(
    (p) => p.dst === dst && String(p.dstlen ?? full) === len && p.table === String(rule.table),
  );
};

async function podHasVeth(netns: string): Promise<boolean> {
  const links = await ipJson<LinkInfo[]>(netns, ['link', 'show']);
  return links.some((l) => l.ifname === podVethName);
}

/** The node's global addresses, the pair's own end left out. */
async function nodeAddresses(hostVeth: string): Promise<string[]> {
  const links = await ipHostJson<LinkInfo[]>(['addr', 'show']);
  return links.filter((l) => l.ifname !== hostVeth).flatMap((l) => globalAddresses(l));
}

/**
 * Host reachability for NIC `ifname` (`first`: the pod's first NIC, which makes the pair) with its
 * addresses; `podTable` is the NIC's policy table (0: main). Returns what to record.
 */
export async function setUpHostVeth(input: {
  netns: string;
  containerId: string;
  ifname: string;
  first: boolean;
  podAddresses: string[];
  podTable: number;
  settings: CoordinatorSettings;
}): Promise<RecordedHostVeth> {
  const { netns, settings } = input;
  const hostVeth = hostVethName(input.containerId);
  let madePair = false;
  if (!(await podHasVeth(netns))) {
    if (!input.first)
      throw new CniError(
        ErrorCode.invalidNetworkConfig,
        `mode: underlay needs ${podVethName}, which the coordinator of the pod's first NIC makes; chain the coordinator on that NIC too`,
      );
    const mtu = String(settings.vethMTU);
    // Made in the pod, the peer moved straight into this process's namespace (the node's).
    await ipIn(netns, [
      'link',
      'add',
      podVethName,
      'mtu',
      mtu,
      'type',
      'veth',
      'peer',
      'name',
      hostVeth,
      'mtu',
      mtu,
      'netns',
      String(process.pid),
    ]);
    madePair = true;
    await ipHost(['link', 'set', hostVeth, 'up']);
    await ipIn(netns, ['link', 'set', podVethName, 'up']);
  }
  const plan = planHostVeth({
    ...input,
    hostAddresses: await nodeAddresses(hostVeth),
    hostRuleTable: settings.hostRuleTable,
  });
  const present = await hostRules();
  for (const rule of plan.hostRules)
    if (!hasRule(present, rule))
      await ipHost([familyOf(rule.to), 'rule', 'add', 'to', rule.to, 'lookup', String(rule.table)]);
  for (const r of plan.hostRoutes)
    await ipHost([familyOf(r.dst), 'route', 'replace', r.dst, 'dev', hostVeth, 'table', String(r.table)]);
  for (const r of plan.podRoutes)
    await ipIn(netns, [
      familyOf(r.dst),
      'route',
      'replace',
      r.dst,
      'dev',
      podVethName,
      'scope',
      'link',
      ...(r.table ? ['table', String(r.table)] : []),
    ]);
  if (settings.podRPFilter !== undefined)
    await shIn(
      netns,
      `for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo ${settings.podRPFilter} > "$f"; done`,
    );
  return { hostVeth, madePair, hostRules: plan.hostRules, hostRoutes: plan.hostRoutes };
}

/**
 * DEL: the node's routes this NIC added (only while they still go through its own pair), then each
 * rule whose table has no route to that address left: a sandbox made again for the same pod, or a
 * migration target, holds the same address through its own pair, and its rule is the same rule.
 * Then the pair, when this NIC made it.
 */
export async function tearDownHostVeth(recorded: RecordedHostVeth): Promise<void> {
  const quiet = (p: Promise<unknown>) => p.catch(() => undefined);
  for (const r of recorded.hostRoutes)
    await quiet(
      ipHost([familyOf(r.dst), 'route', 'del', r.dst, 'dev', recorded.hostVeth, 'table', String(r.table)]),
    );
  // Deleting one end removes both (and its routes); the pod's end goes with its namespace anyway.
  if (recorded.madePair) await quiet(ipHost(['link', 'del', recorded.hostVeth]));
  for (const rule of recorded.hostRules) {
    const left = await ipHost([
      familyOf(rule.to),
      'route',
      'show',
      'table',
      String(rule.table),
      rule.to,
    ]).catch(() => '');
    if (left.trim() === '')
      await quiet(ipHost([familyOf(rule.to), 'rule', 'del', 'to', rule.to, 'lookup', String(rule.table)]));
  }
}

/** CHECK: the node's rules this NIC added are still there. */
export async function checkHostVeth(recorded: RecordedHostVeth, ifname: string): Promise<void> {
  const present = await hostRules();
  for (const rule of recorded.hostRules)
    if (!hasRule(present, rule))
      throw new CniError(
        ErrorCode.checkFailed,
        `node rule "to ${rule.to} lookup ${rule.table}" that coordinator made for ${ifname} is missing`,
      );
}
