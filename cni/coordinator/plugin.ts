// The `coordinator` CNI meta plugin (type: coordinator), run from the same executable as the
// spiderpool IPAM plugin (cni/main.ts dispatches on the config's `type`). It chains after the main
// plugin of a NIC and, in underlay mode, makes the pod's routing right for several NICs:
// coordinator/plan.ts decides, this file reads the namespace and applies the plan with iproute2
// (`nsenter --net=<CNI_NETNS> ip -json ...`). ADD passes prevResult through; what it made (rules,
// table) is recorded in a state file so DEL removes exactly that (idempotently) and CHECK reports a
// missing rule.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  annotations,
  defaultCoordinatorName,
  group,
  kinds,
  type SpiderCoordinator,
  version,
} from '../../api/index.js';
import { nodePaths } from '../../api/install/names.js';
import { podVethName } from '../../coordinator/host-veth.js';
import {
  type CoordinatorConf,
  type CoordinatorSettings,
  type MainRoute,
  macFromPrefix,
  type NicRoutingPlan,
  planNicRouting,
  resolveSettings,
  UnsupportedSetting,
} from '../../coordinator/plan.js';
import { resourcePath } from '../../kube/resource.js';
import { RestClient } from '../../kube/rest.js';
import { pluginKubeConfig, withDeadline } from '../kube-access.js';
import { CniError, ErrorCode, toErrorObject } from '../protocol/errors.js';
import { isSupportedVersion, latestVersion, supportedVersions } from '../protocol/versions.js';
import { checkHostVeth, type RecordedHostVeth, setUpHostVeth, tearDownHostVeth } from './host-veth.js';
import { globalAddresses, ipIn, ipJson, type LinkInfo } from './ip.js';

interface CoordinatorNetConf extends CoordinatorConf {
  cniVersion?: string;
  name?: string;
  type: 'coordinator';
  prevResult?: {
    ips?: Array<{ address: string; gateway?: string; interface?: number }>;
    interfaces?: Array<{ name: string }>;
  };
  /** Where ADD records what it made; default /var/run/spidernet/coordinator. */
  state_dir?: string;
  /** Optional: read the pod's default-route-nic annotation and SpiderCoordinator default. */
  kubernetes?: { kubeconfig?: string };
}

interface Recorded {
  table: number;
  rules: Array<{ from: string; table: number }>;
  /** Host reachability through the veth pair (absent in records of older versions). */
  host?: RecordedHostVeth;
}

export interface CoordinatorIO {
  env: Record<string, string | undefined>;
  stdin: string;
  stdout: (text: string) => void;
}

const fail = (msg: string, code: number = ErrorCode.invalidNetworkConfig) => new CniError(code, msg);

/** The pod's NICs in creation order (by ifindex), loopback and veth0 left out. */
async function nics(netns: string): Promise<LinkInfo[]> {
  const links = await ipJson<LinkInfo[]>(netns, ['addr', 'show']);
  // veth0 is the coordinator's own link to the node, not one of the pod's NICs.
  return links
    .filter((l) => l.ifname !== 'lo' && l.ifname !== podVethName)
    .sort((a, b) => a.ifindex - b.ifindex);
}

async function mainRoutes(netns: string): Promise<MainRoute[]> {
  const out: MainRoute[] = [];
  for (const family of ['-4', '-6']) {
    const routes = await ipJson<Array<{ dst: string; gateway?: string; dev?: string; protocol?: string }>>(
      netns,
      [family, 'route', 'show', 'table', 'main'],
    );
    // Link-local and multicast routes belong to every NIC and never move.
    for (const r of routes)
      if (r.dev && !r.dst.startsWith('fe80:') && !r.dst.startsWith('ff00:') && !r.dst.startsWith('multicast'))
        out.push({ dst: r.dst, dev: r.dev, ...(r.gateway ? { gateway: r.gateway } : {}) });
  }
  return out;
}

const ruleArgs = (verb: 'add' | 'del', rule: { from: string; table: number }) => [
  rule.from.includes(':') ? '-6' : '-4',
  'rule',
  verb,
  'from',
  rule.from,
  'lookup',
  String(rule.table),
];
const routeArgs = (r: MainRoute) => [r.dst, ...(r.gateway ? ['via', r.gateway] : []), 'dev', r.dev];
const family = (dst: string, gateway?: string) => ((gateway ?? dst).includes(':') ? '-6' : '-4');

/**
 * The pod annotation and SpiderCoordinator default, read with the config's kubeconfig or, as the IPAM
 * plugin does, the one `spiderpool install` wrote on the node (NADs the operator renders name none).
 */
async function clusterInputs(conf: CoordinatorNetConf, env: Record<string, string | undefined>) {
  const installed = existsSync(nodePaths.hostPluginKubeconfig) ? nodePaths.hostPluginKubeconfig : undefined;
  const path = conf.kubernetes?.kubeconfig ?? installed;
  if (!path) return { spec: undefined, status: undefined, annotation: undefined };
  const rest = new RestClient(pluginKubeConfig(path), 5000);
  const args = Object.fromEntries(
    (env.CNI_ARGS ?? '').split(';').map((kv) => kv.split('=', 2) as [string, string]),
  );
  try {
    const [scc, pod] = await withDeadline(
      Promise.all([
        rest
          .get<SpiderCoordinator>(
            resourcePath({ group, version, plural: kinds.coordinator.plural }, defaultCoordinatorName),
          )
          .catch(() => undefined),
        args.K8S_POD_NAME && args.K8S_POD_NAMESPACE
          ? rest.get<{ metadata?: { annotations?: Record<string, string> } }>(
              resourcePath(
                { group: '', version: 'v1', plural: 'pods', namespace: args.K8S_POD_NAMESPACE },
                args.K8S_POD_NAME,
              ),
            )
          : undefined,
      ]),
      10_000,
      'reading the pod and SpiderCoordinator default',
    );
    return {
      spec: scc?.spec,
      status: scc?.status,
      annotation: pod?.metadata?.annotations?.[annotations.defaultRouteNic],
    };
  } finally {
    rest.close();
  }
}

function statePath(conf: CoordinatorNetConf, env: Record<string, string | undefined>): string {
  const dir = conf.state_dir ?? '/var/run/spidernet/coordinator';
  return join(dir, `${env.CNI_CONTAINERID}-${env.CNI_IFNAME}.json`);
}

function readRecorded(path: string): Recorded | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Recorded;
  } catch {
    return undefined;
  }
}

async function applyPlan(
  netns: string,
  plan: NicRoutingPlan,
  settings: CoordinatorSettings,
  current: string,
) {
  for (const r of plan.routes) {
    await ipIn(netns, [
      family(r.dst, r.gateway),
      'route',
      'replace',
      ...routeArgs(r),
      'table',
      String(plan.table),
    ]);
  }
  for (const r of plan.leaveMain)
    await ipIn(netns, [family(r.dst, r.gateway), 'route', 'del', ...routeArgs(r)]);
  for (const r of plan.mainDefaults)
    await ipIn(netns, [family(r.dst, r.gateway), 'route', 'add', ...routeArgs(r)]);
  // Routes of the moved NIC other than the default stay in main too (directly connected subnets
  // must stay reachable from every address); only its default route leaves main.
  for (const rule of plan.rules) await ipIn(netns, ruleArgs('add', rule));
  for (const route of settings.policyRoutes) {
    const args = [
      family(route.dst, route.gw),
      'route',
      'replace',
      route.dst,
      'via',
      route.gw,
      'dev',
      current,
    ];
    await ipIn(netns, plan.table ? [...args, 'table', String(plan.table)] : args);
  }
}

async function add(
  conf: CoordinatorNetConf,
  env: Record<string, string | undefined>,
  out: CoordinatorIO['stdout'],
) {
  const netns = env.CNI_NETNS;
  const ifname = env.CNI_IFNAME;
  const containerId = env.CNI_CONTAINERID;
  if (!netns || !ifname || !containerId)
    throw fail('CNI_NETNS, CNI_IFNAME and CNI_CONTAINERID are required', ErrorCode.invalidEnvironment);
  if (!conf.prevResult)
    throw fail('prevResult: coordinator chains after a main plugin; there is no previous result');
  const cluster = await clusterInputs(conf, env);
  const settings = resolveSettings(conf, cluster.spec, cluster.annotation, cluster.status);
  if (settings !== 'disabled') {
    const links = await nics(netns);
    const index = links.findIndex((l) => l.ifname === ifname);
    if (index < 0)
      throw fail(`CNI_IFNAME ${ifname} is not in the pod's network namespace`, ErrorCode.invalidEnvironment);
    const own = globalAddresses(links[index]);
    if (settings.podMACPrefix && own[0])
      await ipIn(netns, ['link', 'set', ifname, 'address', macFromPrefix(settings.podMACPrefix, own[0])]);
    if (settings.txQueueLen > 0)
      await ipIn(netns, ['link', 'set', ifname, 'txqueuelen', String(settings.txQueueLen)]);
    if (
      settings.podDefaultRouteNic &&
      !links.some((l) => l.ifname === settings.podDefaultRouteNic) &&
      index > 0
    )
      throw fail(`podDefaultRouteNIC: ${settings.podDefaultRouteNic} is not a NIC of the pod`);
    const plan = settings.tunePodRoutes
      ? planNicRouting({
          current: ifname,
          index,
          defaultNic: settings.podDefaultRouteNic,
          mainRoutes: await mainRoutes(netns),
          addresses: Object.fromEntries(links.map((l) => [l.ifname, globalAddresses(l)])),
          gateways: (conf.prevResult.ips ?? []).flatMap((ip) => (ip.gateway ? [ip.gateway] : [])),
        })
      : { table: 0, rules: [], routes: [], leaveMain: [], mainDefaults: [] };
    await applyPlan(netns, plan, settings, ifname);
    const path = statePath(conf, env);
    mkdirSync(join(path, '..'), { recursive: true });
    const record = (host?: RecordedHostVeth) =>
      writeFileSync(
        path,
        JSON.stringify({ table: plan.table, rules: plan.rules, ...(host ? { host } : {}) }),
      );
    // Recorded before the node's side is touched, so a DEL after a failure here still undoes the rules.
    record();
    const host = await setUpHostVeth({
      netns,
      containerId,
      ifname,
      first: index === 0,
      podAddresses: own,
      firstNicAddresses: globalAddresses(links[0]),
      // The node's addresses are reached from this NIC's addresses through its own table.
      podTable: plan.movedNic === ifname ? plan.table : 0,
      settings,
    });
    record(host);
  }
  out(JSON.stringify({ ...conf.prevResult, cniVersion: conf.cniVersion }));
}

async function del(conf: CoordinatorNetConf, env: Record<string, string | undefined>) {
  const path = statePath(conf, env);
  const recorded = readRecorded(path);
  if (recorded && env.CNI_NETNS) {
    const netns = env.CNI_NETNS;
    for (const rule of recorded.rules) await ipIn(netns, ruleArgs('del', rule)).catch(() => undefined);
    if (recorded.table)
      for (const f of ['-4', '-6'])
        await ipIn(netns, [f, 'route', 'flush', 'table', String(recorded.table)]).catch(() => undefined);
  }
  if (recorded?.host) await tearDownHostVeth(recorded.host, env.CNI_NETNS);
  rmSync(path, { force: true });
}

async function check(conf: CoordinatorNetConf, env: Record<string, string | undefined>) {
  const recorded = readRecorded(statePath(conf, env));
  if (!recorded || !env.CNI_NETNS) return;
  const present = [
    ...(await ipJson<Array<{ src?: string; srclen?: number; table?: string }>>(env.CNI_NETNS, [
      '-4',
      'rule',
      'show',
    ])),
    ...(await ipJson<Array<{ src?: string; srclen?: number; table?: string }>>(env.CNI_NETNS, [
      '-6',
      'rule',
      'show',
    ])),
  ];
  for (const rule of recorded.rules) {
    const [src, len] = rule.from.split('/');
    // `ip -json rule` leaves srclen out for a full-length (host) prefix.
    const full = src?.includes(':') ? 128 : 32;
    if (
      !present.some(
        (p) => p.src === src && String(p.srclen ?? full) === len && p.table === String(rule.table),
      )
    )
      throw new CniError(
        ErrorCode.checkFailed,
        `policy rule "from ${rule.from} lookup ${rule.table}" that coordinator made for ${env.CNI_IFNAME} is missing`,
      );
  }
  if (recorded.host) await checkHostVeth(recorded.host, env.CNI_IFNAME ?? '', env.CNI_NETNS);
}

/** Runs one coordinator invocation; returns the exit code. */
export async function runCoordinator(io: CoordinatorIO): Promise<number> {
  let cniVersion: string = latestVersion;
  try {
    const command = io.env.CNI_COMMAND;
    const conf = JSON.parse(io.stdin) as CoordinatorNetConf;
    if (typeof conf.cniVersion === 'string') cniVersion = conf.cniVersion;
    if (command === 'VERSION') {
      io.stdout(JSON.stringify({ cniVersion: latestVersion, supportedVersions }));
      return 0;
    }
    if (!isSupportedVersion(conf.cniVersion))
      throw new CniError(ErrorCode.incompatibleVersion, `cniVersion: ${conf.cniVersion} is not supported`);
    if (command === 'ADD') await add(conf, io.env, io.stdout);
    else if (command === 'DEL') await del(conf, io.env);
    else if (command === 'CHECK') await check(conf, io.env);
    else if (command === 'GC' || command === 'STATUS') return 0;
    else throw new CniError(ErrorCode.invalidEnvironment, `CNI_COMMAND: ${command} is not a CNI verb`);
    return 0;
  } catch (e) {
    const err = e instanceof UnsupportedSetting ? new CniError(ErrorCode.unsupportedField, e.message) : e;
    io.stdout(JSON.stringify(toErrorObject(err, cniVersion)));
    return 1;
  }
}
