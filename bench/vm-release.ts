// The time from `kubectl delete vm` to the VM's addresses being free (its records gone from the pool
// and its SpiderEndpoint deleted), over 20 running VMs deleted one after another, on the demo's stage:
// KubeVirt's virt-controller, the node agent (kubelet, Multus, virt-handler) running the compiled
// plugin, and the compiled operator. Prints p50, p99 and max. Needs root (network namespaces).
//   npm run bench:vm-release [-- --vms 20]
import { Stage } from '../demo/stage.js';
import { VmFleet, vmNetwork } from './vm-lifecycle.js';

if (typeof process.getuid === 'function' && process.getuid() !== 0) {
  console.error('bench:vm-release needs root: it creates network namespaces and veth links');
  process.exit(1);
}

const flag = process.argv.indexOf('--vms');
const count = flag >= 0 ? Number(process.argv[flag + 1]) : 20;
if (!Number.isInteger(count) || count < 1) {
  console.error(`--vms: expected a positive whole number, got '${process.argv[flag + 1]}'`);
  process.exit(2);
}
const stage = Stage.create();
const say = (line: string) => console.log(line);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => void stage.close().then(() => process.exit(130)));

async function main(): Promise<void> {
  await stage.start({ say, agent: { clusterNetwork: vmNetwork } });
  const fleet = await VmFleet.prepare(stage, {
    name: 'bench',
    subnet: '198.18.170.0/24',
    range: '198.18.170.10-198.18.170.200',
  });
  const names = Array.from({ length: count }, (_, i) => `bench-vm-${i}`);
  say(`starting ${count} VMs`);
  await fleet.start(names);
  say(`${count} VMs hold addresses; deleting them one by one`);
  const t = await fleet.timeDeletions(names);
  const ms = (v: number) => `${Math.round(v)} ms`;
  say(
    `VM delete → addresses and SpiderEndpoint free, ${count} VMs: p50 ${ms(t.p50Ms)}, p99 ${ms(t.p99Ms)}, max ${ms(t.maxMs)}`,
  );
}

main()
  .then(
    () => 0,
    (err: unknown) => {
      console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    },
  )
  .then(async (code) => {
    await stage.close();
    process.exit(code);
  });
