// The wait every VM lifecycle test shares: the VMI Running with a launcher pod that is Running, has
// its addresses, and is none of the pods it ran in before (a restart, a recreated VMI, a migration).
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { ClusterFixtures } from '../../harness/spiderpool-api.js';
import { eventually } from '../../harness/wait.js';
import { launcherPods, type Vmi, waitVmi } from './fixtures.js';

export const ipsOf = (pod: V1Pod | undefined) => (pod?.status?.podIPs ?? []).map((p) => p.ip);

export function runningInNewPod(
  fixtures: ClusterFixtures & { admin: KubeConfig },
  namespace: string,
  name: string,
  old: V1Pod[] = [],
): Promise<{ vmi: Vmi; pod: V1Pod }> {
  const gone = new Set(old.map((p) => p.metadata?.uid));
  return eventually(
    `VM ${name} running in a new launcher pod`,
    async () => {
      const vmi = await waitVmi(
        fixtures.admin,
        namespace,
        name,
        'to run',
        (v) => v.status?.phase === 'Running',
      );
      const pod = (await launcherPods(fixtures, namespace, vmi)).find(
        (p) => p.status?.phase === 'Running' && !gone.has(p.metadata?.uid) && ipsOf(p).length > 0,
      );
      return pod && { vmi, pod };
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
}
