// The network configuration on stdin: the spec's keys, Spiderpool's IPAM keys and the kubeconfig
// under `kubernetes.kubeconfig` (inside `ipam` as Whereabouts spells it, or at the top as Calico
// does). Unknown keys are allowed: the main plugin's own keys (master, mode, bridge...) arrive too.
import { type Static, Type } from '@sinclair/typebox';
import { nodePaths } from '../../api/install/names.js';
import { isLogLevel, type LogLevel, logLevels } from '../../kube/log.js';
import * as checks from './checks.generated.js';
import type { Verb } from './env.js';
import { CniError, ErrorCode } from './errors.js';
import { type CniResult, parseResult } from './result.js';
import { checkedProblems, lazySchema } from './validate.js';
import { type CniVersion, compareVersions, minimumVersionFor, requireSupportedVersion } from './versions.js';

export const defaults = {
  kubeconfig: nodePaths.hostPluginKubeconfig,
  nodeConfig: nodePaths.hostPluginNodeConfig,
  /** Node-local attachment records, one folder per network. */
  stateDir: '/var/lib/cni/spiderpool',
  logFilePath: '/var/log/spidernet/spiderpool.log',
  logLevel: 'info',
  /** Spiderpool's defaults for sizes given as zero or negative: MB, days, files. */
  logFileMaxSizeMB: 100,
  logFileMaxAgeDays: 30,
  logFileMaxCount: 10,
} as const;

/** The network configuration's schema, built only to name what failed (checks.generated.ts decides). */
export const netConfSchema = lazySchema(() => {
  const KubernetesSchema = Type.Object({
    kubeconfig: Type.Optional(Type.String({ minLength: 1 })),
  });
  const PoolNames = Type.Array(Type.String({ minLength: 1 }));
  const IpamConfigSchema = Type.Object({
    type: Type.String({ minLength: 1 }),
    log_level: Type.Optional(Type.String()),
    log_file_path: Type.Optional(Type.String({ minLength: 1 })),
    log_file_max_size: Type.Optional(Type.Integer()),
    log_file_max_age: Type.Optional(Type.Integer()),
    log_file_max_count: Type.Optional(Type.Integer()),
    default_ipv4_ippool: Type.Optional(PoolNames),
    default_ipv6_ippool: Type.Optional(PoolNames),
    clean_gateway: Type.Optional(Type.Boolean()),
    match_master_subnet: Type.Optional(Type.Boolean()),
    /** Spiderpool's agent socket; accepted so Spiderpool configs load, unused (there is no agent). */
    ipam_unix_socket_path: Type.Optional(Type.String()),
    kubernetes: Type.Optional(KubernetesSchema),
    /** This plugin's node configuration file (written by `spiderpool install`). */
    node_config_path: Type.Optional(Type.String({ minLength: 1 })),
    /** Where this node's attachment records are kept (a folder per network). */
    state_dir: Type.Optional(Type.String({ minLength: 1 })),
  });
  const AttachmentSchema = Type.Object({
    containerID: Type.String({ minLength: 1 }),
    ifname: Type.String({ minLength: 1 }),
  });
  return Type.Object({
    cniVersion: Type.String(),
    name: Type.String(),
    type: Type.Optional(Type.String()),
    ipam: IpamConfigSchema,
    kubernetes: Type.Optional(KubernetesSchema),
    prevResult: Type.Optional(Type.Unknown()),
    'cni.dev/valid-attachments': Type.Optional(Type.Array(AttachmentSchema)),
    'cni.dev/attachments': Type.Optional(Type.Array(AttachmentSchema)),
  });
});

type NetConf = Static<ReturnType<typeof netConfSchema>>;
export type IpamConfig = NetConf['ipam'];
export type Attachment = NonNullable<NetConf['cni.dev/valid-attachments']>[number];

export interface LogSettings {
  level: LogLevel;
  filePath: string;
  maxSizeMB: number;
  maxAgeDays: number;
  maxCount: number;
}

/** The parsed configuration, with defaults applied and Spiderpool's keys in camelCase. */
export interface PluginConfig {
  cniVersion: CniVersion;
  name: string;
  ipam: {
    type: string;
    defaultIPv4Pools: string[];
    defaultIPv6Pools: string[];
    cleanGateway: boolean;
    matchMasterSubnet: boolean;
  };
  kubeconfigPath: string;
  nodeConfigPath: string;
  /** The attachment records of this network: `<state_dir>/<name>`. */
  stateDir: string;
  log: LogSettings;
  /** CHECK only: the result of the ADD being checked. */
  prevResult?: CniResult;
  /**
   * GC only: the attachments the runtime still uses. Undefined when the runtime sent no list
   * (cnitool gc does that); the GC verb decides what that means.
   */
  validAttachments?: Attachment[];
  /** The whole configuration as received. */
  raw: Record<string, unknown>;
}

const networkNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function positiveOr(value: number | undefined, fallback: number): number {
  return value !== undefined && value > 0 ? value : fallback;
}

/** Only what VERSION and error reporting need: the version the caller asked for, if readable. */
export function peekVersion(stdin: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(stdin);
    const v = (parsed as { cniVersion?: unknown } | null)?.cniVersion;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

export function parseNetConf(stdin: string, verb: Verb): PluginConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdin);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new CniError(ErrorCode.decodeFailure, `network configuration (stdin): not valid JSON: ${why}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CniError(ErrorCode.decodeFailure, 'network configuration (stdin): not a JSON object');
  }
  const raw = parsed as Record<string, unknown>;

  const cniVersion = requireSupportedVersion(raw.cniVersion);
  const minimum = minimumVersionFor[verb];
  if (minimum && compareVersions(cniVersion, minimum) < 0) {
    throw new CniError(
      ErrorCode.incompatibleVersion,
      `cniVersion: ${verb} needs ${minimum} or newer, the configuration says ${cniVersion}`,
    );
  }
  if (typeof raw.name !== 'string' || raw.name === '') {
    throw new CniError(ErrorCode.invalidNetworkConfig, 'name: missing network name');
  }
  if (!networkNamePattern.test(raw.name)) {
    throw new CniError(
      ErrorCode.invalidNetworkConfig,
      `name: ${JSON.stringify(raw.name)} must start with a letter or digit followed by letters, digits, _, . or -`,
    );
  }
  const problems = checkedProblems(checks.netConf, netConfSchema, raw);
  if (problems) throw new CniError(ErrorCode.invalidNetworkConfig, problems);
  const conf = raw as NetConf;
  const ipam = conf.ipam;

  // Spiderpool applies match_master_subnet only to SR-IOV VFs (the PF of the pod's VF must carry an
  // address in the pool's subnet); this plugin serves no SR-IOV, so an ADD that asks for it is
  // refused rather than served from a pool the check would have dropped. DEL and the rest still run.
  if (ipam.match_master_subnet === true && verb === 'ADD') {
    throw new CniError(
      ErrorCode.invalidNetworkConfig,
      'ipam.match_master_subnet: true is not served: Spiderpool applies it to SR-IOV virtual functions only, which this plugin does not serve; remove it or set it to false',
    );
  }
  const level = (ipam.log_level ?? defaults.logLevel).toLowerCase();
  if (!isLogLevel(level)) {
    throw new CniError(
      ErrorCode.invalidNetworkConfig,
      `ipam.log_level: ${JSON.stringify(ipam.log_level)} is not one of ${logLevels.join(', ')}`,
    );
  }

  const config: PluginConfig = {
    cniVersion,
    name: conf.name,
    ipam: {
      type: ipam.type,
      defaultIPv4Pools: ipam.default_ipv4_ippool ?? [],
      defaultIPv6Pools: ipam.default_ipv6_ippool ?? [],
      cleanGateway: ipam.clean_gateway ?? false,
      matchMasterSubnet: ipam.match_master_subnet ?? false,
    },
    kubeconfigPath: ipam.kubernetes?.kubeconfig ?? conf.kubernetes?.kubeconfig ?? defaults.kubeconfig,
    nodeConfigPath: ipam.node_config_path ?? defaults.nodeConfig,
    stateDir: `${ipam.state_dir ?? defaults.stateDir}/${conf.name}`,
    log: {
      level,
      filePath: ipam.log_file_path ?? defaults.logFilePath,
      maxSizeMB: positiveOr(ipam.log_file_max_size, defaults.logFileMaxSizeMB),
      maxAgeDays: positiveOr(ipam.log_file_max_age, defaults.logFileMaxAgeDays),
      maxCount: positiveOr(ipam.log_file_max_count, defaults.logFileMaxCount),
    },
    raw,
  };

  if (verb === 'CHECK') {
    if (conf.prevResult === undefined) {
      throw new CniError(ErrorCode.invalidNetworkConfig, 'prevResult: required for CHECK but missing');
    }
    config.prevResult = parseResult(conf.prevResult, 'prevResult');
  }
  if (verb === 'GC') {
    // The spec first named the key cni.dev/attachments; libcni sends both spellings.
    const list = conf['cni.dev/valid-attachments'] ?? conf['cni.dev/attachments'];
    if (list) config.validAttachments = list;
  }
  return config;
}

/** The log settings of a configuration that failed to parse, so the failure is still logged. */
export function logSettingsOf(stdin: string): LogSettings {
  const fallback: LogSettings = {
    level: defaults.logLevel,
    filePath: defaults.logFilePath,
    maxSizeMB: defaults.logFileMaxSizeMB,
    maxAgeDays: defaults.logFileMaxAgeDays,
    maxCount: defaults.logFileMaxCount,
  };
  try {
    const ipam = (JSON.parse(stdin) as { ipam?: Partial<IpamConfig> } | null)?.ipam;
    if (!ipam || typeof ipam !== 'object') return fallback;
    const path = ipam.log_file_path;
    return { ...fallback, ...(typeof path === 'string' && path !== '' ? { filePath: path } : {}) };
  } catch {
    return fallback;
  }
}
