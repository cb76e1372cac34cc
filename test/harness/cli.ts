// `npm run cluster -- up|down|status [--dir <folder>]`: the local control plane for trying things by
// hand. It lives in .cluster/ at the top of the repository unless --dir names another folder; the
// admin kubeconfig is <folder>/admin.kubeconfig.
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { repoRoot } from './binaries.js';
import { type Component, ControlPlane } from './control-plane.js';

const args = process.argv.slice(2);
const dirFlag = args.indexOf('--dir');
const dir = dirFlag >= 0 && args[dirFlag + 1] ? resolve(args[dirFlag + 1] ?? '') : join(repoRoot, '.cluster');
const shown = dir.startsWith(process.cwd()) ? relative(process.cwd(), dir) || '.' : dir;
const components: Component[] = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

function attached(): ControlPlane | undefined {
  return existsSync(join(dir, 'state.json')) ? ControlPlane.attach(dir) : undefined;
}

async function up(): Promise<void> {
  const existing = attached();
  if (existing && components.every((c) => existing.isRunning(c))) {
    console.log(`already up at ${existing.server}`);
    return;
  }
  if (existing) await existing.stop(); // a half-dead earlier run: clear it first
  const started = Date.now();
  const cp = await ControlPlane.start({ dir, log: (line) => console.log(line) });
  console.log(`up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${cp.server}`);
  console.log(`  kubectl --kubeconfig ${join(shown, 'admin.kubeconfig')} get namespaces`);
  console.log(`  logs: ${join(shown, 'logs')}/`);
}

async function down(): Promise<void> {
  const cp = attached();
  if (!cp) {
    console.log('not running');
    return;
  }
  await cp.stop();
  console.log('down: etcd, kube-apiserver, kube-controller-manager and kube-scheduler stopped');
}

function status(): void {
  const cp = attached();
  if (!cp) {
    console.log('not running');
    process.exitCode = 3;
    return;
  }
  console.log(`server ${cp.server}`);
  for (const c of components) console.log(`  ${c.padEnd(24)} ${cp.isRunning(c) ? 'running' : 'stopped'}`);
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
      console.error('usage: npm run cluster -- up|down|status [--dir <folder>]');
      process.exitCode = 2;
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
