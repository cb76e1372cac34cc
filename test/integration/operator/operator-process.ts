// Runs the test operator (fixtures/test-operator.ts: the real operator plus a ConfigMap controller)
// as a separate process, and reads what it logs and serves.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../../harness/wait.js';
import { installOperatorRbac, type PrivateCluster, testLabel } from './private-cluster.js';

const fixture = join(import.meta.dirname, 'fixtures', 'test-operator.ts');

export interface LogLine {
  time: string;
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface StartOptions {
  kubeconfig: string;
  namespace: string;
  /** ConfigMaps the test controller handles (label selector), in `testNamespace`. */
  selector: string;
  /** Where those ConfigMaps live (default: `namespace`, the operator's own). */
  testNamespace?: string;
  identity: string;
  logFile: string;
  args?: string[];
}

export class OperatorProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly logFile: string,
    readonly identity: string,
    readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  ) {}

  static start(opts: StartOptions): OperatorProcess {
    const out = createWriteStream(opts.logFile, { flags: 'a' });
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fixture,
        `--kubeconfig=${opts.kubeconfig}`,
        `--namespace=${opts.namespace}`,
        `--identity=${opts.identity}`,
        '--bind-address=127.0.0.1',
        '--webhook-port=0',
        '--metrics-port=0',
        '--health-port=0',
        ...(opts.args ?? []),
      ],
      {
        env: {
          ...process.env,
          NODE_OPTIONS: '',
          TEST_NAMESPACE: opts.testNamespace ?? opts.namespace,
          TEST_SELECTOR: opts.selector,
          NO_PROXY: '127.0.0.1,localhost',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    return new OperatorProcess(child, opts.logFile, opts.identity, exited);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  lines(): LogLine[] {
    let text = '';
    try {
      text = readFileSync(this.logFile, 'utf8');
    } catch {
      return [];
    }
    const out: LogLine[] = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as LogLine);
      } catch {
        // a line being written
      }
    }
    return out;
  }

  find(pred: (l: LogLine) => boolean): LogLine[] {
    return this.lines().filter(pred);
  }

  waitForLog(what: string, pred: (l: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    return eventually(
      `${this.identity}: ${what}`,
      () => {
        if (!this.running) throw new Error(`operator exited; log:\n${this.tail()}`);
        return this.lines().find(pred);
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  async ports(): Promise<{ webhook: number; metrics: number; health: number }> {
    const line = await this.waitForLog('running', (l) => l.msg === 'running');
    return line.ports as { webhook: number; metrics: number; health: number };
  }

  async metrics(): Promise<string> {
    const { metrics } = await this.ports();
    const res = await fetch(`http://127.0.0.1:${metrics}/metrics`);
    return res.text();
  }

  /** The sum of the series of `name` that carry `labels`, or undefined when there is none. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    const text = await this.metrics();
    let sum: number | undefined;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const m = /^([a-z_:]+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum = (sum ?? 0) + Number(m[3]);
    }
    return sum;
  }

  async probe(path: '/healthz' | '/readyz'): Promise<number> {
    const { health } = await this.ports();
    return (await fetch(`http://127.0.0.1:${health}${path}`)).status;
  }

  tail(n = 20): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/** Handled-event lines of the test controller for one object. */
export function handled(op: OperatorProcess, name: string, event?: string): LogLine[] {
  return op.find(
    (l) => l.msg === 'test handled' && String(l.object).endsWith(`/${name}`) && (!event || l.event === event),
  );
}

export { sleep };

/**
 * A namespace for the test ConfigMaps, the operator's RBAC, and one test operator process acting as
 * the operator's service account, started and synced.
 */
export async function startSyncedOperator(
  cluster: PrivateCluster,
  opts: { namespace: string; identity: string; args?: string[] },
): Promise<OperatorProcess> {
  await cluster.core.createNamespace({ body: { metadata: { name: opts.namespace } } });
  await installOperatorRbac(cluster, opts.namespace);
  const op = OperatorProcess.start({
    kubeconfig: cluster.cp.kubeconfigPath('operator'),
    namespace: 'kube-system',
    testNamespace: opts.namespace,
    selector: `${testLabel}=${opts.namespace}`,
    identity: opts.identity,
    logFile: join(cluster.dir, `${opts.identity}.log`),
    args: opts.args,
  });
  await op.waitForLog(
    'the test controller to sync',
    (l) => l.msg === 'cache synced' && l.controller === 'test-configmaps',
  );
  return op;
}
