// Applies coordinator/host-veth.ts's plan: the veth pair of the pod's first NIC (made in the pod's
// namespace, its peer moved to the namespace the plugin runs in, the node's) with vethLinkAddress,
// the node's rules, routes and static neighbour entries for the NIC's addresses through it, the
// pod's routes (node addresses, hijack CIDRs) and neighbour entries through veth0, the mark rules
// that send replies back through veth0, and podRPFilter. DEL undoes what was recorded; CHECK names
// a recorded node rule, neighbour entry, mark rule or iptables rule that is missing.
import {
  type HostVethPlan,
  hostVethName,
  planHostVeth,
  podReplyTable,
  podVethName,
  replyMark,
  replyMarkRules,
  replyRulePriority,
} from '../../coordinator/host-veth.js';
import type { CoordinatorSettings } from '../../coordinator/plan.js';
import { CniError, ErrorCode } from '../protocol/errors.js';
import { globalAddresses, ipHost, ipHostJson, ipIn, ipJson, iptablesIn, type LinkInfo, shIn } from './ip.js';

/** What a NIC's ADD made for host reachability, for DEL and CHECK. */
export interface RecordedHostVeth {
  hostVeth: string;
  /** True for the first NIC: its DEL removes the pair. */
  madePair: boolean;
  hostRules: HostVethPlan['hostRules'];
  hostRoutes: HostVethPlan['hostRoutes'];
  /** The node's neighbour entries on hostVeth (absent in records of older versions). */
  hostNeighbours?: string[];
  /** The families of the pod's mark rules (first NIC only), for DEL and CHECK. */
  replyFamilies?: Array<4 | 6>;
}

const familyOf = (prefix: string) => (prefix.includes(':') ? '-6' : '-4');

interface RuleInfo {
  dst?: string;
  dstlen?: number;
  table?: string;
  fwmark?: string;
  priority?: number;
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

/**
 * The node's global addresses, the pair's own end left out; first the one the node reaches each pod
 * address from (`ip route get`, as Spiderpool's GetAllHostIPRouteForPod orders them), which the
 * hijack routes then use as their gateway.
 */
async function nodeAddresses(hostVeth: string, podAddresses: string[]): Promise<string[]> {
  const links = await ipHostJson<LinkInfo[]>(['addr', 'show']);
  const all = links.filter((l) => l.ifname !== hostVeth).flatMap((l) => globalAddresses(l));
  const preferred: string[] = [];
  for (const a of podAddresses) {
    const [route] = await ipHostJson<Array<{ prefsrc?: string }>>(['route', 'get', a]).catch(() => []);
    if (route?.prefsrc && all.includes(route.prefsrc)) preferred.push(route.prefsrc);
  }
  return [...new Set([...preferred, ...all])];
}

const macOf = async (links: Promise<LinkInfo[]>, name: string) => {
  const mac = (await links)[0]?.address;
  if (!mac) throw new CniError(ErrorCode.ioFailure, `${name} has no MAC address`);
  return mac;
};

const routeArgs = (r: HostVethPlan['hijackRoutes'][number]) => [
  familyOf(r.dst),
  'route',
  'replace',
  r.dst,
  ...(r.via ? ['via', r.via] : []),
  'dev',
  podVethName,
  ...(r.src ? ['src', r.src] : []),
  ...(r.table ? ['table', String(r.table)] : []),
];

const markRuleArgs = (family: 4 | 6, verb: 'add' | 'del') => [
  `-${family}`,
  'rule',
  verb,
  'fwmark',
  replyMark,
  'lookup',
  String(podReplyTable),
  'priority',
  String(replyRulePriority),
];

/** Spiderpool's ensureIPtablesRule: each mark rule appended unless it is there already. */
async function ensureReplyViaVeth(netns: string, plan: NonNullable<HostVethPlan['replyViaVeth']>) {
  for (const family of plan.families) {
    for (const rule of replyMarkRules) {
      const present = await iptablesIn(netns, family, ['-t', 'mangle', '-C', ...rule]).then(
        () => true,
        () => false,
      );
      if (!present) await iptablesIn(netns, family, ['-t', 'mangle', '-A', ...rule]);
    }
    const rules = await ipJson<RuleInfo[]>(netns, [`-${family}`, 'rule', 'show']);
    if (!rules.some(isReplyRule)) await ipIn(netns, markRuleArgs(family, 'add'));
  }
  for (const r of plan.defaults) await ipIn(netns, routeArgs(r));
}

const isReplyRule = (r: RuleInfo) =>
  r.fwmark === replyMark && r.table === String(podReplyTable) && r.priority === replyRulePriority;

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
  /** The pod's first NIC's global addresses (the source of the routes through veth0). */
  firstNicAddresses: string[];
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
    // Spiderpool gives veth0 the address only when the pod has IPv4.
    if (settings.vethLinkAddress && input.podAddresses.some((a) => !a.includes(':')))
      await ipIn(netns, ['addr', 'add', `${settings.vethLinkAddress}/32`, 'dev', podVethName]);
  }
  const plan = planHostVeth({
    ...input,
    hostAddresses: await nodeAddresses(hostVeth, input.podAddresses),
    hostRuleTable: settings.hostRuleTable,
    hijackCIDR: settings.hijackCIDR,
  });
  const present = await hostRules();
  for (const rule of plan.hostRules)
    if (!hasRule(present, rule))
      await ipHost([familyOf(rule.to), 'rule', 'add', 'to', rule.to, 'lookup', String(rule.table)]);
  for (const r of plan.hostRoutes)
    await ipHost([familyOf(r.dst), 'route', 'replace', r.dst, 'dev', hostVeth, 'table', String(r.table)]);
  // Static neighbour entries on both ends (Spiderpool's setupNeighborhood): no ARP/ND through the pair.
  const podVethMac = await macOf(ipJson<LinkInfo[]>(netns, ['link', 'show', podVethName]), podVethName);
  for (const a of plan.hostNeighbours)
    await ipHost(['neigh', 'replace', a, 'lladdr', podVethMac, 'dev', hostVeth, 'nud', 'permanent']);
  if (plan.podNeighbours.length > 0) {
    const hostVethMac = await macOf(ipHostJson<LinkInfo[]>(['link', 'show', hostVeth]), hostVeth);
    for (const a of plan.podNeighbours)
      await ipIn(netns, [
        'neigh',
        'replace',
        a,
        'lladdr',
        hostVethMac,
        'dev',
        podVethName,
        'nud',
        'permanent',
      ]);
  }
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
  for (const r of plan.hijackRoutes) await ipIn(netns, routeArgs(r));
  if (plan.replyViaVeth) await ensureReplyViaVeth(netns, plan.replyViaVeth);
  if (settings.podRPFilter !== undefined)
    await shIn(
      netns,
      `for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo ${settings.podRPFilter} > "$f"; done`,
    );
  return {
    hostVeth,
    madePair,
    hostRules: plan.hostRules,
    hostRoutes: plan.hostRoutes,
    hostNeighbours: plan.hostNeighbours,
    ...(plan.replyViaVeth ? { replyFamilies: plan.replyViaVeth.families } : {}),
  };
}

/**
 * DEL: the node's routes this NIC added (only while they still go through its own pair), then each
 * rule whose table has no route to that address left: a sandbox made again for the same pod, or a
 * migration target, holds the same address through its own pair, and its rule is the same rule.
 * Then the pair, when this NIC made it.
 */
export async function tearDownHostVeth(recorded: RecordedHostVeth, netns: string | undefined): Promise<void> {
  const quiet = (p: Promise<unknown>) => p.catch(() => undefined);
  // The pod's mark rules and reply table (its namespace may outlive the DEL: a runtime's retry).
  if (netns)
    for (const family of recorded.replyFamilies ?? []) {
      for (const rule of replyMarkRules)
        await quiet(iptablesIn(netns, family, ['-t', 'mangle', '-D', ...rule]));
      await quiet(ipIn(netns, markRuleArgs(family, 'del')));
      await quiet(ipIn(netns, [`-${family}`, 'route', 'flush', 'table', String(podReplyTable)]));
    }
  for (const a of recorded.hostNeighbours ?? [])
    await quiet(ipHost(['neigh', 'del', a, 'dev', recorded.hostVeth]));
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

/** CHECK: the node's rules and neighbour entries, the pod's mark rules this NIC added are still there. */
export async function checkHostVeth(
  recorded: RecordedHostVeth,
  ifname: string,
  netns: string,
): Promise<void> {
  const missing = (what: string) =>
    new CniError(ErrorCode.checkFailed, `${what} that coordinator made for ${ifname} is missing`);
  const present = await hostRules();
  for (const rule of recorded.hostRules)
    if (!hasRule(present, rule)) throw missing(`node rule "to ${rule.to} lookup ${rule.table}"`);
  if (recorded.hostNeighbours?.length) {
    const neighbours = await ipHostJson<Array<{ dst: string; state?: string[] }>>([
      'neigh',
      'show',
      'dev',
      recorded.hostVeth,
    ]).catch(() => []);
    for (const a of recorded.hostNeighbours)
      if (!neighbours.some((n) => n.dst === a && n.state?.includes('PERMANENT')))
        throw missing(`node neighbour entry "${a} dev ${recorded.hostVeth}"`);
  }
  for (const family of recorded.replyFamilies ?? []) {
    for (const rule of replyMarkRules) {
      const ok = await iptablesIn(netns, family, ['-t', 'mangle', '-C', ...rule]).then(
        () => true,
        () => false,
      );
      if (!ok) throw missing(`iptables rule "-t mangle -A ${rule.join(' ')}"`);
    }
    const rules = await ipJson<RuleInfo[]>(netns, [`-${family}`, 'rule', 'show']);
    if (!rules.some(isReplyRule)) throw missing(`policy rule "fwmark ${replyMark} lookup ${podReplyTable}"`);
  }
}
