// The stage the benchmarks (bench/vm-release.ts, vm-lifecycle.ts, operator-scale.ts) play on; `npm
// run demo` runs on real nodes instead (nodes-stage.ts). A control plane with KubeVirt's
// virt-controller and kube-scheduler (the test bed's, in a temporary folder), the synthesized CRDs and
// RBAC from dist/manifests, the compiled operator as its service account, the node agent as kubelet,
// Multus and virt-handler of two nodes, and the links the VMs' networks use. Everything it starts is
// stopped again by `close()`, which runs at most once (also from a signal handler).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KubeConfig, type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../build/executables.js';
import { isAlreadyExists } from '../kube/errors.js';
import { kubeConfig } from '../test/harness/clients.js';
import { ControlPlane } from '../test/harness/control-plane.js';
import { NetworkLab } from '../test/harness/netns.js';
import { NodeAgent, type NodeAgentOptions } from '../test/harness/node-agent/index.js';
import { RunningOperator } from '../test/harness/operator-executable.js';

/** Kinds taken from dist/manifests: the API and the permissions (the workloads are what runs here). */
const applied = new Set([
  'CustomResourceDefinition',
  'Namespace',
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
]);

export interface StageOptions {
  say: (line: string) => void;
  agent?: Omit<NodeAgentOptions, 'controlPlane' | 'dir'>;
  operatorConf?: Record<string, unknown>;
}

export class Stage {
  readonly lab = new NetworkLab();
  cp: ControlPlane | undefined;
  agent: NodeAgent | undefined;
  operator: RunningOperator | undefined;
  private operatorConf: Record<string, unknown> = {};
  private closing: Promise<void> | undefined;

  private constructor(readonly dir: string) {}

  get admin(): KubeConfig {
    return kubeConfig('admin', this.controlPlane);
  }

  get controlPlane(): ControlPlane {
    if (!this.cp) throw new Error('the control plane is not running');
    return this.cp;
  }

  static create(): Stage {
    return new Stage(mkdtempSync(join(tmpdir(), 'spiderpool-ts-demo-')));
  }

  /** Builds what is missing, then starts everything; `say` gets one line per step. */
  async start(o: StageOptions): Promise<void> {
    o.say('building the plugin and the operator (npm run build) and the manifests (npm run synth)');
    for (const script of ['build', 'synth']) {
      const run = spawnSync('npm', ['run', script], { cwd: repoRoot, encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`npm run ${script} failed:\n${run.stdout}${run.stderr}`);
    }
    o.say(
      'starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and KubeVirt virt-controller',
    );
    this.cp = await ControlPlane.start({
      dir: join(this.dir, 'cluster'),
      kubevirt: true,
      log: (line) => o.say(`  ${line}`),
    });
    o.say('applying the CRDs and RBAC from dist/manifests');
    await applyManifests(this.admin, join(repoRoot, 'dist', 'manifests'));
    o.say('starting the operator (dist/bin/spiderpool-operator, as its service account)');
    this.operatorConf = { gc: { intervalSeconds: 600 }, ...o.operatorConf };
    this.operator = await this.startOperator();
    o.say(
      `starting the node agent for ${this.cp.kubevirtNodes.join(' and ')} (kubelet, Multus, virt-handler)`,
    );
    this.agent = await NodeAgent.start({ controlPlane: this.cp, dir: join(this.dir, 'agent'), ...o.agent });
  }

  private startOperator(): Promise<RunningOperator> {
    return RunningOperator.start({
      cp: this.controlPlane,
      dir: this.dir,
      identity: 'demo',
      conf: this.operatorConf,
    });
  }

  /** Stops the operator and starts a fresh process, which lists everything again; resolves when ready. */
  async restartOperator(): Promise<RunningOperator> {
    await this.operator?.stop();
    this.operator = await this.startOperator();
    return this.operator;
  }

  /** Stops everything started, removes the links and the folder; safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.agent?.stop().catch(() => undefined);
      await this.operator?.stop().catch(() => undefined);
      await this.lab.cleanup().catch(() => undefined);
      await this.cp?.stop().catch(() => undefined);
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.closing;
  }
}

async function applyManifests(admin: KubeConfig, dir: string): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(admin);
  const objects = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as KubernetesObject),
    )
    .filter((o) => o && applied.has(o.kind ?? ''));
  // Namespaces and CRDs first, so what lives in them can be created.
  const rank = (o: KubernetesObject) =>
    o.kind === 'Namespace' ? 0 : o.kind === 'CustomResourceDefinition' ? 1 : 2;
  for (const o of objects.sort((a, b) => rank(a) - rank(b)))
    await api.create(o).catch((err: unknown) => {
      if (!isAlreadyExists(err)) throw err;
    });
}
