// How large a pool may be, alone (`npm run bench` measures the same among its limits): one pool
// filled to growing sizes in one write each, then serial writes of one record more at each size,
// up to where the API server refuses the object (etcd's 1.5 MiB request limit). Prints the object's
// size and the write rate per size, and the refusal: the figures behind conf.yml's
// ippoolMaxAllocatedIPs (docs/cni.md, "How large a pool may be").
// Usage: npm run bench:pool-size [-- --max 14000 --writes 20]
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { ensureSpiderpoolCrds } from '../test/harness/spiderpool-api.js';
import { benchControlPlane, runBench } from './harness.js';
import { poolGrowth } from './limits.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { max: { type: 'string', default: '14000' }, writes: { type: 'string', default: '20' } },
  });
  const { cp, release } = await benchControlPlane();
  try {
    const admin = new KubeConfig();
    admin.loadFromFile(cp.kubeconfigPath('admin'));
    await ensureSpiderpoolCrds(admin);
    console.log(`one pool, filled to each size, then ${values.writes} serial writes of one record more`);
    console.log('records'.padStart(8), 'object KiB'.padStart(11), 'writes/s'.padStart(9));
    const growth = await poolGrowth(admin, Number(values.max), Number(values.writes), () => {});
    for (const p of growth.points) {
      console.log(
        String(p.records).padStart(8),
        (p.bytes / 1024).toFixed(0).padStart(11),
        p.writesPerSec.toFixed(1).padStart(9),
      );
    }
    console.log(
      growth.refused
        ? `refused at ${growth.refused.records} records: ${growth.refused.error}`
        : `no size up to ${values.max} records was refused`,
    );
  } finally {
    await release();
  }
}

runBench(main);
