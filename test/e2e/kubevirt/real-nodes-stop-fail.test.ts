// KubeVirt on the test bed's real nodes (needs root), the paths where a launcher ends without its VM
// going: the VM stopped (runStrategy Halted, as `virtctl stop` patches it) and started again, a
// migration that fails on its target, and a migration aborted by deleting it while held. kubelet runs
// the launcher pods and reports how they end; the node agent (virt-handler only) ends them through
// the node's containerd, the target of a failed migration with exit 1 as its pod ends Failed. The
// set-up (one two-node test bed for the file, the installation, the VM) is real-nodes-fixture.ts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../../harness/wait.js';
import {
  blueAddress,
  bluePool,
  inBlue,
  inRange,
  namespace,
  type Pod,
  pool,
  useRealNodesVm,
  vm,
} from './real-nodes-fixture.js';

const t = useRealNodesVm('e2e-real-kv-stop');

/** What the VM holds: its eth0 and blue addresses, and one address in each pool. */
async function expectAddressesKept(launcher: Pod, address: string, blue: string): Promise<void> {
  expect(launcher.status.podIP).toBe(address);
  expect(blueAddress(launcher)).toBe(blue);
  expect(await t().eth0Inside(launcher.metadata.name)).toBe(`${address}/24`);
  expect(await t().allocated(pool)).toBe(1);
  expect(await t().allocated(bluePool)).toBe(1);
  const ep = await t().endpoint();
  expect(ep.status.current).toMatchObject({ uid: launcher.metadata.uid, node: launcher.spec.nodeName });
  expect(ep.status.current.ips).toEqual([
    expect.objectContaining({ ipv4: `${address}/24`, ipv4Pool: pool }),
    expect.objectContaining({ ipv4: `${blue}/24`, ipv4Pool: bluePool }),
  ]);
}

/** The plugin's log lines (JSON) on `node`: the installed plugin writes them in the node's /var/log/spidernet. */
function pluginLog(node: string): Array<Record<string, unknown>> {
  const record = t().inst.cp.nodes.find((n) => n.name === node);
  if (!record) throw new Error(`${node} is not a real node`);
  const file = join(record.dir, 'machine', 'var', 'log', 'spidernet', 'spiderpool.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * The outcomes of the CNI DELs of pod `pod`'s NICs on its node (`kept` or `released`, with the
 * NIC), once there is one for each of the VM's two NICs (kubelet may repeat a DEL).
 */
function delsOf(pod: Pod): Array<{ ifname: unknown; msg: unknown }> | undefined {
  const lines = pluginLog(pod.spec.nodeName ?? '')
    .filter(
      (l) =>
        l.command === 'DEL' &&
        l.pod === `${namespace}/${pod.metadata.name}` &&
        (l.msg === 'kept' || l.msg === 'released'),
    )
    .map((l) => ({ ifname: l.ifname, msg: l.msg }));
  return new Set(lines.map((l) => l.ifname)).size >= 2 ? lines : undefined;
}

/** Every CNI DEL of `pod`'s NICs kept the VM's addresses. */
async function expectDelsKept(what: string, pod: Pod): Promise<void> {
  const dels = await eventually(what, async () => delsOf(pod), { timeoutMs: 120_000, intervalMs: 500 });
  expect(dels.every((d) => d.msg === 'kept')).toBe(true);
}

/**
 * The target launcher of a migration that ended failed: kubelet reports it Failed (its compute
 * container exited 1), the CNI DEL of both NICs kept the VM's addresses, and the VM runs on with
 * them at the source.
 */
async function expectTargetFailedSourceKept(source: Pod, target: Pod): Promise<void> {
  const address = source.status.podIP ?? '';
  const blue = blueAddress(source) ?? '';
  const ended = await eventually(
    'the target launcher Failed, as kubelet reports it',
    async () =>
      (await t().launchers()).find(
        (p) => p.metadata.uid === target.metadata.uid && p.status.phase === 'Failed',
      ),
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  expect(ended.status.containerStatuses?.find((c) => c.name === 'compute')?.state?.terminated?.exitCode).toBe(
    1,
  );
  await expectDelsKept("the target's CNI DEL of both NICs", target);
  const vmiNow = await t().vmi();
  expect(vmiNow.status?.phase).toBe('Running');
  expect(vmiNow.status?.nodeName).toBe(source.spec.nodeName);
  const sourceNow = (await t().launchers()).find((p) => p.metadata.uid === source.metadata.uid);
  expect(sourceNow?.status.phase).toBe('Running');
  await expectAddressesKept(sourceNow as Pod, address, blue);
}

const vmimPhase = async (name: string) =>
  (await t().inst.getJson<{ status?: { phase?: string } }>('vmim', '-n', namespace, name)).status?.phase;

test('the installation rolls out and the VM runs with its two addresses', async () => {
  await t().inst.applyManifests();
  await t().createVm();
  const launcher = await t().runningLauncher('the VM running with a launcher pod kubelet started');
  expect(launcher.status.podIP).toMatch(inRange);
  expect(blueAddress(launcher)).toMatch(inBlue);
}, 480_000);

test('the VM stopped (runStrategy Halted) and started again: the new launcher has the same addresses', async () => {
  const before = await t().runningLauncher('the VM running');
  const address = before.status.podIP ?? '';
  const blue = blueAddress(before) ?? '';
  const firstVmi = (await t().vmi()).metadata.uid;
  const halt = (strategy: string) =>
    t().k(
      'patch',
      'vm',
      '-n',
      namespace,
      vm,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { runStrategy: strategy } }),
    );
  await halt('Halted');
  await eventually(
    'the VMI and its launcher pod to be gone',
    async () => {
      const vmis = await t().inst.getJson<{ items: unknown[] }>('vmis', '-n', namespace);
      return vmis.items.length === 0 && (await t().launchers()).length === 0;
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  // A stopped VM keeps its addresses: its endpoint and one address in each pool stay.
  expect((await t().endpoint()).status.current.uid).toBe(before.metadata.uid);
  expect(await t().allocated(pool)).toBe(1);
  expect(await t().allocated(bluePool)).toBe(1);
  await expectDelsKept("the stopped launcher's CNI DEL of both NICs", before);

  await halt('Always');
  const after = await t().runningLauncher('the VM started again', before.metadata.uid);
  expect((await t().vmi()).metadata.uid).not.toBe(firstVmi);
  await eventually('the endpoint to follow the new launcher', async () => {
    return (await t().endpoint()).status.current.uid === after.metadata.uid;
  });
  await expectAddressesKept(after, address, blue);
}, 480_000);

test('a migration that fails on its target: the target launcher ends Failed, its DEL keeps the source addresses', async () => {
  const source = await t().runningLauncher('the VM running');
  const target = await t().migrateToRunningTarget('fail-move', source);
  expect(target.status.podIP).toBe(source.status.podIP);
  expect(blueAddress(target)).toBe(blueAddress(source));
  t().agent.failMigration(namespace, vm);
  await eventually('the migration Failed', async () => (await vmimPhase('fail-move')) === 'Failed', {
    timeoutMs: 120_000,
    intervalMs: 500,
  });
  expect((await t().vmi()).status?.migrationState).toMatchObject({ completed: true, failed: true });
  await expectTargetFailedSourceKept(source, target);
}, 480_000);

test('a migration deleted while held is aborted: the target launcher ends Failed, the VM keeps its addresses', async () => {
  const source = await t().runningLauncher('the VM running');
  const target = await t().migrateToRunningTarget('abort-move', source);
  expect(target.status.podIP).toBe(source.status.podIP);
  await t().k('delete', 'vmim', '-n', namespace, 'abort-move', '--wait=false');
  const aborted = await eventually(
    'the VMI to record the abort',
    async () => {
      const ms = (await t().vmi()).status?.migrationState;
      return ms?.abortStatus && ms.targetPod === target.metadata.name ? ms : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  expect(aborted).toMatchObject({ abortStatus: 'Succeeded', completed: true, failed: true });
  await expectTargetFailedSourceKept(source, target);
  await eventually(
    'the migration object to be gone',
    async () =>
      (await t().inst.getJson<{ items: unknown[] }>('vmim', '-n', namespace)).items.every(
        (m) => (m as { metadata: { name: string } }).metadata.name !== 'abort-move',
      ),
    { timeoutMs: 120_000, intervalMs: 500 },
  );
}, 480_000);
