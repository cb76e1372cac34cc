// The compiled operator (dist/bin/spiderpool-operator, rebuilt when older than its sources) run
// against a control plane as the operator's service account, with the synthesized RBAC applied:
// what the KubeVirt e2e tests and `npm run demo` run next to the node agent.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { operatorRuntimeEnv } from '../../api/install/names.js';
import { buildExecutable, operatorEntry, operatorExecutable, repoRoot } from '../../build/executables.js';
import { installationManifests } from '../../cdk8s/app.js';
import { defaultValues } from '../../cdk8s/values/schema.js';
import { isAlreadyExists } from '../../kube/errors.js';
import { kubeConfig } from './clients.js';
import type { ControlPlane } from './control-plane.js';
import { eventually } from './wait.js';

const sourceDirs = ['operator', 'kube', 'api', 'ipam', 'cni'];

function newestSource(): number {
  let newest = statSync(join(repoRoot, 'package-lock.json')).mtimeMs;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of sourceDirs) walk(join(repoRoot, dir));
  return newest;
}

/** The path of an up-to-date dist/bin/spiderpool-operator, building it first when needed. */
export function operatorBinary(): string {
  if (!existsSync(operatorExecutable) || statSync(operatorExecutable).mtimeMs < newestSource())
    buildExecutable(operatorEntry, operatorExecutable);
  return operatorExecutable;
}

/** The installation's ClusterRoles, Roles and bindings (`npm run synth`'s rbac chart); existing ones are kept. */
export async function applyInstallationRbac(cp: ControlPlane): Promise<void> {
  const objects = KubernetesObjectApi.makeApiClient(kubeConfig('admin', cp));
  const rbac = installationManifests(defaultValues('0.0.0')).find((c) => c.chart === 'rbac');
  for (const object of rbac?.objects ?? [])
    await objects.create(object as KubernetesObject).catch((err: unknown) => {
      if (!isAlreadyExists(err)) throw err;
    });
}

export interface OperatorRunOptions {
  cp: ControlPlane;
  /** Where its conf.yml and log go. */
  dir: string;
  identity: string;
  /** conf.yml: Spiderpool's keys (enableKubevirtStaticIP, gc.intervalSeconds, ...). */
  conf?: Record<string, unknown>;
  /** More flags, e.g. --log-level=debug. */
  args?: string[];
}

export class RunningOperator {
  private constructor(
    private readonly child: ChildProcess,
    readonly logFile: string,
    readonly exited: Promise<void>,
  ) {}

  /** Starts it and waits until it leads and every watch has listed (`/readyz` 200). */
  static async start(o: OperatorRunOptions): Promise<RunningOperator> {
    const binary = operatorBinary();
    await applyInstallationRbac(o.cp);
    const confPath = join(o.dir, `${o.identity}.conf.yml`);
    writeFileSync(confPath, stringify(o.conf ?? {}));
    // A log of its own per process, so a restarted operator is never judged by its predecessor's lines.
    let logFile = join(o.dir, `${o.identity}.log`);
    for (let n = 2; existsSync(logFile); n++) logFile = join(o.dir, `${o.identity}.${n}.log`);
    const out = createWriteStream(logFile);
    const child = spawn(
      binary,
      [
        `--kubeconfig=${o.cp.kubeconfigPath('operator')}`,
        '--namespace=kube-system',
        `--identity=${o.identity}`,
        '--bind-address=127.0.0.1',
        '--webhook-port=0',
        '--metrics-port=0',
        '--health-port=0',
        `--config=${confPath}`,
        ...(o.args ?? []),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        // The Deployment's runtime environment, so what runs here is sized as it is in a cluster.
        env: { ...process.env, ...operatorRuntimeEnv, NO_PROXY: '127.0.0.1,localhost' },
      },
    );
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const op = new RunningOperator(child, logFile, exited);
    try {
      const ports = await eventually(
        'the operator to listen',
        () => {
          if (!op.running) throw new Error(`the operator exited:\n${op.tail()}`);
          return op.lines().find((l) => l.msg === 'running')?.ports as { health: number } | undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      await eventually(
        'the operator to be ready',
        async () =>
          (await fetch(`http://127.0.0.1:${ports.health}/readyz`).catch(() => undefined))?.status === 200,
        { timeoutMs: 90_000, intervalMs: 200 },
      );
    } catch (err) {
      await op.stop();
      throw err;
    }
    return op;
  }

  /**
   * Its resident memory now and the most it has held since it started (the kernel's VmRSS and VmHWM
   * in /proc/<pid>/status), in MiB.
   */
  memory(): { rssMiB: number; peakMiB: number } {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  lines(): Array<{ msg?: string; [key: string]: unknown }> {
    if (!existsSync(this.logFile)) return [];
    return readFileSync(this.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as { msg?: string }];
        } catch {
          return [];
        }
      });
  }

  tail(n = 20): string {
    return existsSync(this.logFile)
      ? readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-n).join('\n')
      : '';
  }

  /** SIGTERM, SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
