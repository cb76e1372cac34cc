// `npm run cluster -- up [--kubevirt] [--nodes N]|down|status [--dir <folder>]`: the local control
// plane for trying things by hand. It lives in .cluster/ at the top of the repository unless --dir
// names another folder; the admin kubeconfig is <folder>/admin.kubeconfig. With --kubevirt it also
// runs KubeVirt's virt-controller and registers schedulable KubeVirt nodes (no kubelet: the node
// agent plays it). With --nodes N it runs N real nodes (containerd, kubelet, kube-proxy; needs root);
// both together make those nodes KubeVirt's (launcher pods run by kubelet, the Multus stand-in in
// front of their CNI chain; virt-handler is a NodeAgent with `kubelet: false`); --image <archive> imports an OCI archive from `npm run image` into each of them.
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { imageRepository } from '../../build/image.js';
import { repoRoot } from './binaries.js';
import { type Component, ControlPlane } from './control-plane.js';
import { isRunning } from './processes.js';

const args = process.argv.slice(2);
const dirFlag = args.indexOf('--dir');
const dir = dirFlag >= 0 && args[dirFlag + 1] ? resolve(args[dirFlag + 1] ?? '') : join(repoRoot, '.cluster');
const shown = dir.startsWith(process.cwd()) ? relative(process.cwd(), dir) || '.' : dir;
const withKubeVirt = args.includes('--kubevirt');
const nodesFlag = args.indexOf('--nodes');
const nodeCount = nodesFlag >= 0 ? Number(args[nodesFlag + 1]) : 0;
const imageFlag = args.indexOf('--image');
const imageArchive = imageFlag >= 0 ? resolve(args[imageFlag + 1] ?? '') : undefined;
const baseComponents: Component[] = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

/** The components a control plane runs: virt-controller too when it was started with KubeVirt. */
function componentsOf(cp: ControlPlane): Component[] {
  return cp.kubevirt ? [...baseComponents, 'virt-controller'] : baseComponents;
}

function attached(): ControlPlane | undefined {
  return existsSync(join(dir, 'state.json')) ? ControlPlane.attach(dir) : undefined;
}

async function up(): Promise<void> {
  const existing = attached();
  if (
    existing &&
    (existing.kubevirt || !withKubeVirt) &&
    existing.nodes.length === nodeCount &&
    componentsOf(existing).every((c) => existing.isRunning(c))
  ) {
    console.log(`already up at ${existing.server}${existing.kubevirt ? ' (with KubeVirt)' : ''}`);
    return;
  }
  // A half-dead earlier run, or one without KubeVirt when KubeVirt is asked for: clear it first.
  if (existing) await existing.stop();
  if (!Number.isInteger(nodeCount) || nodeCount < 0 || nodeCount > 20) {
    throw new Error(`--nodes: ${JSON.stringify(args[nodesFlag + 1])} is not a number of nodes from 0 to 20`);
  }
  const started = Date.now();
  const cp = await ControlPlane.start({
    dir,
    kubevirt: withKubeVirt,
    ...(nodeCount > 0 ? { nodes: nodeCount } : {}),
    log: (line) => console.log(line),
  });
  console.log(`up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${cp.server}`);
  if (imageArchive) {
    if (cp.nodes.length === 0)
      throw new Error('--image: there are no nodes to import it into (add --nodes N)');
    await cp.importImage(imageArchive, imageRepository);
    console.log(
      `  imported ${imageArchive} as ${imageRepository}:<its tag> into ${cp.nodes.map((n) => n.name).join(', ')}`,
    );
  }
  console.log(`  kubectl --kubeconfig ${join(shown, 'admin.kubeconfig')} get namespaces`);
  if (cp.kubevirt || cp.nodes.length > 0)
    console.log(`  kubectl --kubeconfig ${join(shown, 'admin.kubeconfig')} get nodes`);
  console.log(`  logs: ${join(shown, 'logs')}/`);
}

async function down(): Promise<void> {
  const cp = attached();
  if (!cp) {
    console.log('not running');
    return;
  }
  const stopped = componentsOf(cp);
  await cp.stop();
  const nodes = cp.nodes.map((n) => n.name);
  console.log(`down: ${[...nodes, ...stopped].join(', ')} stopped`);
}

function status(): void {
  const cp = attached();
  if (!cp) {
    console.log('not running');
    process.exitCode = 3;
    return;
  }
  console.log(`server ${cp.server}`);
  for (const c of componentsOf(cp))
    console.log(`  ${c.padEnd(24)} ${cp.isRunning(c) ? 'running' : 'stopped'}`);
  if (cp.kubevirt) console.log(`  KubeVirt nodes: ${cp.kubevirtNodes.join(', ')}`);
  for (const node of cp.nodes) {
    const procs = Object.entries(node.processes).map(
      ([c, rec]) => `${c} ${isRunning(rec) ? 'running' : 'stopped'}`,
    );
    console.log(`  node ${node.name} (${node.address}): ${procs.join(', ')}`);
  }
}

async function main(): Promise<void> {
  const [command] = args;
  switch (command) {
    case 'up':
      return up();
    case 'down':
      return down();
    case 'status':
      return status();
    default:
      console.error(
        'usage: npm run cluster -- up [--kubevirt] [--nodes N [--image <archive>]]|down|status [--dir <folder>]',
      );
      process.exitCode = 2;
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
