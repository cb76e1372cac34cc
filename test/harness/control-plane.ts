// A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager and,
// optionally, kube-scheduler, built from their Go modules (see binaries.ts).
//
// Everything about a running control plane lives in `<dir>/state.json`, so any process can attach
// to it, restart a component (tests of API server and etcd outages) or stop it. Each control plane
// has its own folder and ports, so two test runs never share data or ports.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { ensureBinaries, moduleVersion } from './binaries.js';
import { ensurePki } from './pki.js';
import { isRunning, type ProcessRecord, startDetached, stopProcess, tail } from './processes.js';
import { newToken, type TestUserName, testUsers, tokenFileLine } from './users.js';

export type Component = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler';

export interface ControlPlaneOptions {
  /** Folder for certificates, kubeconfigs, logs and state; etcd data goes to /dev/shm when present. */
  dir: string;
  /** Which optional components to run (default: both). */
  scheduler?: boolean;
  controllerManager?: boolean;
  /** Extra flags per component, e.g. { 'kube-apiserver': ['--etcd-compaction-interval=10s'] }. */
  extraArgs?: Partial<Record<Component, string[]>>;
  log?: (line: string) => void;
}

interface State {
  dir: string;
  etcdDataDir: string;
  server: string;
  ports: { etcdClient: number; etcdPeer: number; apiserver: number };
  tokens: Record<TestUserName, string>;
  processes: Partial<Record<Component, ProcessRecord>>;
}

const startOrder: Component[] = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export class ControlPlane {
  private constructor(private state: State) {}

  get dir(): string {
    return this.state.dir;
  }

  /** The API server's URL, e.g. https://127.0.0.1:34567. */
  get server(): string {
    return this.state.server;
  }

  get caFile(): string {
    return join(this.state.dir, 'pki', 'ca.crt');
  }

  /** Kubeconfig of one of the test users; `admin.kubeconfig` is also at the top of the folder. */
  kubeconfigPath(user: TestUserName = 'admin'): string {
    return join(this.state.dir, 'kubeconfigs', `${user}.kubeconfig`);
  }

  get adminKubeconfig(): string {
    return join(this.state.dir, 'admin.kubeconfig');
  }

  token(user: TestUserName): string {
    return this.state.tokens[user];
  }

  /**
   * Starts a control plane. Ports are picked free and then bound by the components, so another
   * process can take one in between; a start that fails on a taken port is retried with new ports.
   */
  static async start(opts: ControlPlaneOptions): Promise<ControlPlane> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await ControlPlane.startOnce(opts);
      } catch (err) {
        const portTaken = err instanceof Error && /address already in use/.test(err.message);
        if (!portTaken || attempt >= 3) throw err;
        opts.log?.(`a port was taken during start-up; retrying with new ports (attempt ${attempt + 1})`);
      }
    }
  }

  private static async startOnce(opts: ControlPlaneOptions): Promise<ControlPlane> {
    const log = opts.log ?? (() => {});
    const etcdBin = ensureBinaries('etcd', log);
    const k8sBin = ensureBinaries('k8s', log);
    const dir = opts.dir;
    for (const sub of ['pki', 'kubeconfigs', 'logs']) mkdirSync(join(dir, sub), { recursive: true });
    const pki = ensurePki(join(dir, 'pki'));

    const tokens = Object.fromEntries(Object.keys(testUsers).map((u) => [u, newToken()])) as Record<
      TestUserName,
      string
    >;
    writeFileSync(
      join(dir, 'pki', 'tokens.csv'),
      `${Object.entries(testUsers)
        .map(([key, user]) => tokenFileLine(tokens[key as TestUserName], user))
        .join('\n')}\n`,
      { mode: 0o600 },
    );

    const ports = { etcdClient: await freePort(), etcdPeer: await freePort(), apiserver: await freePort() };
    const shm = existsSync('/dev/shm') ? '/dev/shm' : dir;
    const etcdDataDir = join(shm, `spiderpool-ts-etcd-${ports.etcdClient}-${process.pid}`);
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const state: State = { dir, etcdDataDir, server, ports, tokens, processes: {} };
    const cp = new ControlPlane(state);
    cp.writeKubeconfigs();

    const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
    const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
    const argv: Record<Component, { bin: string; args: string[] }> = {
      etcd: {
        bin: join(etcdBin, 'etcd'),
        args: [
          `--data-dir=${etcdDataDir}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=default=${peerUrl}`,
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
      },
      'kube-apiserver': {
        bin: join(k8sBin, 'kube-apiserver'),
        args: [
          `--etcd-servers=${etcdUrl}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${ports.apiserver}`,
          `--tls-cert-file=${pki.apiserverCert}`,
          `--tls-private-key-file=${pki.apiserverKey}`,
          `--client-ca-file=${pki.caCert}`,
          `--token-auth-file=${join(dir, 'pki', 'tokens.csv')}`,
          `--service-account-issuer=${server}`,
          `--service-account-key-file=${pki.serviceAccountPub}`,
          `--service-account-signing-key-file=${pki.serviceAccountKey}`,
          '--service-cluster-ip-range=10.0.0.0/24',
          '--authorization-mode=RBAC',
          '--allow-privileged=true',
          // No service-account controller runs, so no namespace has a `default` ServiceAccount.
          '--disable-admission-plugins=ServiceAccount',
          '--profiling=false',
        ],
      },
      'kube-controller-manager': {
        bin: join(k8sBin, 'kube-controller-manager'),
        args: [
          `--kubeconfig=${cp.kubeconfigPath('admin')}`,
          '--controllers=garbage-collector-controller,namespace-controller',
          '--leader-elect=false',
          '--use-service-account-credentials=false',
          '--secure-port=0',
        ],
      },
      'kube-scheduler': {
        bin: join(k8sBin, 'kube-scheduler'),
        args: [`--kubeconfig=${cp.kubeconfigPath('admin')}`, '--leader-elect=false', '--secure-port=0'],
      },
    };
    const wanted = startOrder.filter(
      (c) =>
        (c !== 'kube-controller-manager' || opts.controllerManager !== false) &&
        (c !== 'kube-scheduler' || opts.scheduler !== false),
    );
    try {
      for (const component of wanted) {
        const { bin, args } = argv[component];
        const allArgs = [...args, ...(opts.extraArgs?.[component] ?? [])];
        state.processes[component] = startDetached(bin, allArgs, join(dir, 'logs', `${component}.log`));
        cp.save();
        await cp.waitReady(component);
      }
    } catch (err) {
      await cp.stop();
      throw err;
    }
    log(
      `control plane ready at ${server}: kube-apiserver ${moduleVersion('k8s')}, etcd ${moduleVersion('etcd')} (state in ${dir})`,
    );
    return cp;
  }

  /** Attaches to a control plane started by this or another process. */
  static attach(dir: string): ControlPlane {
    return new ControlPlane(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as State);
  }

  private save(): void {
    writeFileSync(join(this.state.dir, 'state.json'), `${JSON.stringify(this.state, null, 2)}\n`);
  }

  private reload(): void {
    this.state = (ControlPlane.attach(this.state.dir) as ControlPlane).state;
  }

  private writeKubeconfigs(): void {
    for (const user of Object.keys(testUsers) as TestUserName[]) {
      const doc = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'local', cluster: { server: this.state.server, 'certificate-authority': this.caFile } },
        ],
        users: [{ name: user, user: { token: this.state.tokens[user] } }],
        contexts: [{ name: user, context: { cluster: 'local', user, namespace: 'default' } }],
        'current-context': user,
      };
      writeFileSync(this.kubeconfigPath(user), stringify(doc), { mode: 0o600 });
    }
    writeFileSync(this.adminKubeconfig, readFileSync(this.kubeconfigPath('admin')), { mode: 0o600 });
  }

  isRunning(component: Component): boolean {
    const rec = this.state.processes[component];
    return rec !== undefined && isRunning(rec);
  }

  /** Stops one component (for outage tests); `startComponent` brings it back with the same flags. */
  async stopComponent(component: Component): Promise<void> {
    this.reload();
    const rec = this.state.processes[component];
    if (rec) await stopProcess(rec);
  }

  async startComponent(component: Component): Promise<void> {
    this.reload();
    const rec = this.state.processes[component];
    if (!rec) throw new Error(`${component} is not part of this control plane`);
    if (isRunning(rec)) return;
    this.state.processes[component] = startDetached(rec.bin, rec.args, rec.log, rec.env);
    this.save();
    await this.waitReady(component);
  }

  async restart(component: Component): Promise<void> {
    await this.stopComponent(component);
    await this.startComponent(component);
  }

  /** Stops every process, children first, and removes etcd's data. */
  async stop(): Promise<void> {
    if (existsSync(join(this.state.dir, 'state.json'))) this.reload();
    for (const component of [...startOrder].reverse()) {
      const rec = this.state.processes[component];
      if (rec) await stopProcess(rec);
    }
    rmSync(this.state.etcdDataDir, { recursive: true, force: true });
    rmSync(join(this.state.dir, 'state.json'), { force: true });
  }

  private async waitReady(component: Component, timeoutMs = 60_000): Promise<void> {
    const rec = this.state.processes[component];
    if (!rec) return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!isRunning(rec)) throw new Error(`${component} exited during start-up:\n${tail(rec.log)}`);
      if (await this.probe(component)) return;
      if (Date.now() > deadline)
        throw new Error(`${component} not ready after ${timeoutMs} ms:\n${tail(rec.log)}`);
      await sleep(100);
    }
  }

  private async probe(component: Component): Promise<boolean> {
    switch (component) {
      case 'etcd':
        return fetch(`http://127.0.0.1:${this.state.ports.etcdClient}/health`)
          .then((r) => r.ok)
          .catch(() => false);
      case 'kube-apiserver':
        return this.apiserverReady();
      default: {
        // Neither serves a port here (--secure-port=0): ready means it stayed up for a moment.
        await sleep(300);
        const rec = this.state.processes[component];
        return rec !== undefined && isRunning(rec);
      }
    }
  }

  /** GET /readyz, trusting only this control plane's CA. */
  apiserverReady(): Promise<boolean> {
    const ca = readFileSync(this.caFile);
    return new Promise((resolve) => {
      const req = request(`${this.state.server}/readyz`, { ca, timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }
}
