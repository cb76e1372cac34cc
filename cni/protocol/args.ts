// CNI_ARGS: `KEY=VALUE` pairs separated by `;`. Runtimes add keys of their own (containerd and
// CRI-O always send IgnoreUnknown=1); like the Go plugins, an unknown key is an error unless
// IgnoreUnknown is set.
import { CniError, ErrorCode } from './errors.js';

export interface CniArgs {
  ignoreUnknown: boolean;
  podNamespace?: string;
  podName?: string;
  podUid?: string;
  podInfraContainerId?: string;
  /** Keys this plugin does not use, kept for the log. */
  unknown: Record<string, string>;
}

const known: Record<string, keyof Omit<CniArgs, 'ignoreUnknown' | 'unknown'>> = {
  K8S_POD_NAMESPACE: 'podNamespace',
  K8S_POD_NAME: 'podName',
  K8S_POD_UID: 'podUid',
  K8S_POD_INFRA_CONTAINER_ID: 'podInfraContainerId',
};

function parseBool(key: string, value: string): boolean {
  const v = value.toLowerCase();
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new CniError(
    ErrorCode.invalidEnvironment,
    `CNI_ARGS: ${key}=${JSON.stringify(value)} is not a boolean (1, 0, true or false)`,
  );
}

// Kubernetes names: a namespace is a DNS label, a pod name a DNS subdomain. Checked here because the
// values become API paths: `..` or `.` would name another resource than a pod.
const dnsLabel = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const namePatterns: Partial<Record<string, { pattern: RegExp; max: number; what: string }>> = {
  K8S_POD_NAMESPACE: {
    pattern: new RegExp(`^${dnsLabel}$`),
    max: 63,
    what: 'a namespace name (a DNS label)',
  },
  K8S_POD_NAME: {
    pattern: new RegExp(`^${dnsLabel}(\\.${dnsLabel})*$`),
    max: 253,
    what: 'a pod name (a DNS subdomain)',
  },
};

function checkName(key: string, value: string): void {
  const rule = namePatterns[key];
  if (!rule || value === '' || (value.length <= rule.max && rule.pattern.test(value))) return;
  const shown = value.length > 80 ? `${JSON.stringify(value.slice(0, 77))}...` : JSON.stringify(value);
  throw new CniError(ErrorCode.invalidEnvironment, `CNI_ARGS: ${key}=${shown} is not ${rule.what}`);
}

export function parseCniArgs(raw: string | undefined): CniArgs {
  const args: CniArgs = { ignoreUnknown: false, unknown: {} };
  if (!raw) return args;
  for (const pair of raw.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new CniError(
        ErrorCode.invalidEnvironment,
        `CNI_ARGS: ${JSON.stringify(pair)} is not a KEY=VALUE pair`,
      );
    }
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const field = known[key];
    checkName(key, value);
    if (key === 'IgnoreUnknown') args.ignoreUnknown = parseBool(key, value);
    else if (field) args[field] = value;
    else args.unknown[key] = value;
  }
  const unknownKeys = Object.keys(args.unknown);
  if (unknownKeys.length > 0 && !args.ignoreUnknown) {
    throw new CniError(
      ErrorCode.invalidEnvironment,
      `CNI_ARGS: unknown keys ${unknownKeys.join(', ')} (add IgnoreUnknown=1 to pass keys this plugin does not use)`,
    );
  }
  return args;
}
