// The test bed's real nodes themselves (needs root): a pod in the host network of a node reaches
// the API server through the `kubernetes` Service (kube-proxy's rules in the node's namespace), and
// stopping from state.json alone after containerd, kubelet and kube-proxy were killed (a crash)
// leaves no process, container, namespace, link or folder behind.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ControlPlane } from '../../harness/control-plane.js';
import { busyboxImage } from '../../harness/nodes/nodes.js';
import { isAlive, isRunning } from '../../harness/processes.js';
import { registerRun, unregisterRun } from '../../harness/runs.js';
import { eventually } from '../../harness/wait.js';
import { kubectl } from '../../integration/install/kubectl.js';

const run = promisify(execFile);
let work: string;
let cp: ControlPlane | undefined;
const cpDir = () => join(work, 'cp');

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'spiderpool-ts-nodes-'));
  registerRun(cpDir());
  cp = await ControlPlane.start({ dir: cpDir(), nodes: 1 });
}, 180_000);

afterAll(async () => {
  await cp?.stop();
  unregisterRun(cpDir());
  rmSync(work, { recursive: true, force: true });
});

/** pids whose command line contains `text`. */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** pids whose parent is one of `parents` (a shim's children are the containers' first processes). */
function childrenOf(parents: number[]): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        return parents.includes(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('a host-network pod reaches the API server through the kubernetes Service', async () => {
  const admin = (cp as ControlPlane).adminKubeconfig;
  await kubectl(admin, [
    'run',
    'probe',
    '--restart=Never',
    `--image=${busyboxImage.repository}:${busyboxImage.tag}`,
    '--image-pull-policy=Never',
    '--overrides={"spec":{"hostNetwork":true,"terminationGracePeriodSeconds":1}}',
    '--command',
    '--',
    '/bin/busybox',
    'sh',
    '-c',
    'echo | /bin/busybox nc -w 5 10.0.0.1 443 && echo reached-the-api-server; exec /bin/busybox sleep 3600',
  ]);
  await eventually(
    'the pod to reach 10.0.0.1:443',
    async () => (await kubectl(admin, ['logs', 'probe'])).stdout.includes('reached-the-api-server'),
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}, 90_000);

test('after a crash of containerd, kubelet and kube-proxy, stopping from state.json cleans up everything', async () => {
  const [node] = (cp as ControlPlane).nodes;
  if (!node) throw new Error('no node');
  // The pod's container runs under a shim that names the node's containerd socket.
  const shims = processesMentioning(node.containerdSocket).filter(
    (pid) => pid !== node.processes.containerd?.pid,
  );
  expect(shims.length).toBeGreaterThan(0);
  const containers = childrenOf(shims);
  expect(containers.length).toBeGreaterThan(0);
  for (const rec of Object.values(node.processes)) process.kill(rec.pid, 'SIGKILL');
  await eventually('the node processes to die', () =>
    Object.values(node.processes).every((r) => !isRunning(r)),
  );

  // Another process's view: only the state folder.
  await ControlPlane.attach(cpDir()).stop();
  cp = undefined;

  expect(processesMentioning(node.containerdSocket).filter(isAlive)).toEqual([]);
  expect([...shims, ...containers].filter(isAlive)).toEqual([]);
  const { stdout: namespaces } = await run('ip', ['netns', 'list']);
  expect(namespaces).not.toContain(node.netns);
  await expect(run('ip', ['link', 'show', node.hostLink])).rejects.toThrow();
  expect(existsSync(node.dir)).toBe(false);
  expect(existsSync(join(cpDir(), 'state.json'))).toBe(false);
}, 120_000);
