// The user's installation on the test bed's real nodes, shared by the e2e tests that run it and `npm run demo`: the
// image from `npm run image`'s code imported into each node's containerd (no registry), the
// manifests of `npm run synth -- --set image.repository=…,image.tag=…` applied unchanged with
// kubectl, and the DaemonSet and the operator's Deployment rolled out.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { objectNames } from '../../api/install/names.js';
import { repoRoot } from '../../build/executables.js';
import { buildImage, imageRepository } from '../../build/image.js';
import { kubectl } from '../integration/install/kubectl.js';
import { kubectlBinary } from './binaries.js';
import { pluginBinary } from './cni-plugin.js';
import { ControlPlane, type ControlPlaneOptions } from './control-plane.js';
import { operatorBinary } from './operator-executable.js';
import { registerRun, unregisterRun } from './runs.js';

const run = promisify(execFile);
/** Where the manifests put the node DaemonSet and the operator. */
export const installNamespace = 'kube-system';

export class Installation {
  /** When `kubectl apply` of the manifests began (ms since 1970). */
  appliedAt = 0;

  private constructor(
    readonly work: string,
    readonly cp: ControlPlane,
    readonly tag: string,
    /** Seconds the control plane and its nodes took to start. */
    readonly startSeconds: number,
  ) {}

  /**
   * Builds the executables and the image, starts the control plane with its real nodes (registered,
   * so a worker that dies leaves them to the next run, runs.ts), imports the image and synthesizes
   * the manifests for it.
   */
  static async start(
    tag: string,
    options: Omit<ControlPlaneOptions, 'dir'> & { nodes: number },
  ): Promise<Installation> {
    const work = mkdtempSync(join(tmpdir(), `spiderpool-ts-${tag}-`));
    pluginBinary();
    operatorBinary();
    const image = buildImage({ tag, out: join(work, 'image.oci.tar') });
    const started = Date.now();
    registerRun(join(work, 'cp'));
    const cp = await ControlPlane.start({ dir: join(work, 'cp'), ...options });
    const install = new Installation(work, cp, tag, (Date.now() - started) / 1000);
    await cp.importImage(image.archive, imageRepository);
    await run(
      'npx',
      [
        'tsx',
        'cdk8s/main.ts',
        '--output',
        join(work, 'manifests'),
        '--crds-dir',
        join(work, 'crds'),
        '--set',
        `image.repository=${imageRepository},image.tag=${tag}`,
      ],
      { cwd: repoRoot },
    );
    return install;
  }

  /** kubectl with the admin's kubeconfig; its stdout. */
  k = (...args: string[]): Promise<string> => kubectl(this.cp.adminKubeconfig, args).then((r) => r.stdout);

  async getJson<T>(...args: string[]): Promise<T> {
    return JSON.parse(await this.k('get', ...args, '-o', 'json')) as T;
  }

  /** kubectl apply of one object from stdin, as `kubectl apply -f -`. */
  async applyObject(object: unknown): Promise<void> {
    const child = execFile(kubectlBinary(), ['--kubeconfig', this.cp.adminKubeconfig, 'apply', '-f', '-']);
    const done = new Promise<void>((resolve, reject) => {
      let stderr = '';
      child.stderr?.on('data', (d) => {
        stderr += d;
      });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl apply: ${stderr}`))));
    });
    child.stdin?.end(JSON.stringify(object));
    await done;
  }

  /** `kubectl rollout status` of a workload of the installation (`deployment/<name>`, `daemonset/<name>`). */
  rolledOut(workload: string, seconds: number): Promise<string> {
    return this.k('rollout', 'status', '-n', installNamespace, workload, `--timeout=${seconds}s`);
  }

  /** `kubectl rollout status` of the operator Deployment: every replica updated and available. */
  operatorRolledOut(seconds: number): Promise<string> {
    return this.rolledOut(`deployment/${objectNames.operatorDeployment}`, seconds);
  }

  /** The IPv4 address (`a.b.c.d/len`) on a pod's eth0, as `ip` run in the pod with kubectl exec shows it. */
  async eth0Address(namespace: string, pod: string, container?: string): Promise<string> {
    const out = await this.k(
      'exec',
      '-n',
      namespace,
      pod,
      ...(container ? ['-c', container] : []),
      '--',
      '/bin/busybox',
      'ip',
      '-4',
      '-o',
      'addr',
      'show',
      'eth0',
    );
    return /inet (\S+)/.exec(out)?.[1] ?? `no IPv4 address in: ${out}`;
  }

  /** kubectl apply of every manifest synth wrote, then the DaemonSet and the Deployment rolled out. */
  async applyManifests(): Promise<void> {
    this.appliedAt = Date.now();
    const manifests = join(this.work, 'manifests');
    if (readdirSync(manifests).length === 0) throw new Error(`synth wrote nothing into ${manifests}`);
    await this.k('apply', '-f', manifests);
    await this.rolledOut(`daemonset/${objectNames.nodeDaemonSet}`, 180);
    await this.operatorRolledOut(180);
  }

  async stop(): Promise<void> {
    await this.cp.stop();
    unregisterRun(join(this.work, 'cp'));
    rmSync(this.work, { recursive: true, force: true });
  }
}
