// Command-line flags of `spiderpool-operator`, parsed without I/O. Every mistake is an error that
// names the flag and the value.
import { operatorPorts } from '../../api/install/names.js';
import { isLogLevel, type LogLevel } from '../observability/log.js';

export interface Flags {
  kubeconfig?: string;
  config?: string;
  namespace?: string;
  identity?: string;
  webhookPort: number;
  metricsPort: number;
  healthPort: number;
  bindAddress: string;
  leaderElect: boolean;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  webhookUrlHost?: string;
  webhookTlsSecret?: string;
  logLevel: LogLevel;
  workers: number;
  noAddressAfterMs: number;
  help: boolean;
}

type Kind = 'string' | 'port' | 'bool' | 'duration' | 'count' | 'level';

const spec: Record<string, { key: keyof Flags; kind: Kind; help: string }> = {
  kubeconfig: {
    key: 'kubeconfig',
    kind: 'string',
    help: 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)',
  },
  config: { key: 'config', kind: 'string', help: "Spiderpool's conf.yml (the spiderpool-conf ConfigMap)" },
  namespace: {
    key: 'namespace',
    kind: 'string',
    help: 'namespace of the Lease and the webhook Secret (default $POD_NAMESPACE, kube-system)',
  },
  identity: {
    key: 'identity',
    kind: 'string',
    help: 'leader election identity (default $POD_NAME, else hostname-pid)',
  },
  'webhook-port': {
    key: 'webhookPort',
    kind: 'port',
    help: `HTTPS port of the admission webhooks (${operatorPorts.webhook})`,
  },
  'metrics-port': {
    key: 'metricsPort',
    kind: 'port',
    help: `HTTP port of /metrics (${operatorPorts.metrics})`,
  },
  'health-port': {
    key: 'healthPort',
    kind: 'port',
    help: `HTTP port of /healthz and /readyz (${operatorPorts.health})`,
  },
  'bind-address': { key: 'bindAddress', kind: 'string', help: 'address the servers listen on (0.0.0.0)' },
  'leader-elect': {
    key: 'leaderElect',
    kind: 'bool',
    help: 'run controllers only while holding the Lease (true)',
  },
  'lease-duration': {
    key: 'leaseDurationMs',
    kind: 'duration',
    help: 'how long followers wait before taking over (15s)',
  },
  'renew-deadline': {
    key: 'renewDeadlineMs',
    kind: 'duration',
    help: 'a leader that cannot renew for this long stops (10s)',
  },
  'retry-period': { key: 'retryPeriodMs', kind: 'duration', help: 'time between Lease attempts (2s)' },
  'webhook-url-host': {
    key: 'webhookUrlHost',
    kind: 'string',
    help: 'point the webhook configurations at https://<host>:<port> instead of the Service (tests)',
  },
  'webhook-tls-secret': {
    key: 'webhookTlsSecret',
    kind: 'string',
    help: 'use this TLS Secret (tls.crt, tls.key, ca.crt) instead of the self-managed one',
  },
  'log-level': { key: 'logLevel', kind: 'level', help: 'debug, info, warn or error (info)' },
  workers: { key: 'workers', kind: 'count', help: 'objects of one resource handled in parallel (4)' },
  'no-address-event-after': {
    key: 'noAddressAfterMs',
    kind: 'duration',
    help: 'a bound pod still without addresses this long after creation gets an explaining Event (30s)',
  },
  help: { key: 'help', kind: 'bool', help: 'print this help' },
};

export const defaultFlags: Flags = {
  webhookPort: operatorPorts.webhook,
  metricsPort: operatorPorts.metrics,
  healthPort: operatorPorts.health,
  bindAddress: '0.0.0.0',
  leaderElect: true,
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  logLevel: 'info',
  workers: 4,
  noAddressAfterMs: 30_000,
  help: false,
};

export function usage(): string {
  const lines = Object.entries(spec).map(([name, s]) => `  --${name.padEnd(20)} ${s.help}`);
  return (
    `usage: spiderpool-operator [flags]\n${lines.join('\n')}\n` +
    // The same executable is the command line (operator/ctl/); its own --help lists its options.
    'or:    spiderpool-operator pools|ip <address>|check|release <address> [options]   (see --help after the command)\n'
  );
}

/** Parses `10s`, `1500ms`, `2m`, `1h` or plain seconds into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(n * unit);
}

function convert(name: string, kind: Kind, raw: string): Flags[keyof Flags] {
  const bad = (expected: string) => new Error(`flag --${name}: expected ${expected}, got '${raw}'`);
  switch (kind) {
    case 'string':
      if (raw === '') throw bad('a value');
      return raw;
    case 'port': {
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || n > 65535) throw bad('a port number 0-65535');
      return n;
    }
    case 'count': {
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || n < 1 || n > 1000) throw bad('a whole number 1-1000');
      return n;
    }
    case 'bool':
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw bad('true or false');
    case 'duration': {
      const ms = parseDuration(raw);
      if (ms === undefined || ms <= 0) throw bad('a duration such as 15s or 500ms');
      return ms;
    }
    case 'level':
      if (!isLogLevel(raw)) throw bad('debug, info, warn or error');
      return raw;
  }
}

export function parseFlags(argv: string[]): Flags {
  const flags: Flags = { ...defaultFlags };
  const set = flags as unknown as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new Error(`unexpected argument '${arg}' (flags look like --name=value; see --help)`);
    const name = m[1] as string;
    const s = spec[name];
    if (!s) throw new Error(`unknown flag --${name} (see --help)`);
    let raw = m[2];
    if (raw === undefined) {
      if (s.kind === 'bool') raw = 'true';
      else {
        const next = argv[i + 1];
        if (next === undefined || next.startsWith('--')) throw new Error(`flag --${name} needs a value`);
        raw = next;
        i++;
      }
    }
    set[s.key] = convert(name, s.kind, raw);
  }
  return flags;
}
