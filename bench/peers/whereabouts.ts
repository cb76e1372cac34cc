// Whereabouts as a benchmark peer: its IPAM binary built from its Go module (test/infra/go/whereabouts),
// called like ours, with its Kubernetes datastore (IPPool objects in the kubeconfig's namespace, a
// cluster-wide Lease taken by every call) on a control plane of its own. It reads no Pod at ADD, and
// refuses to start without a flat configuration file, which names the kubeconfig.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { formatValue, parseIP } from '../../ipam/address/ip.js';
import { ensureBinaries } from '../../test/harness/binaries.js';
import { cniEnv, runProcess } from '../../test/harness/cni-plugin.js';
import { poolSpec } from '../cni-adds.js';
import { applyCrdFiles, moduleSource } from './go-module.js';
import { addHolder, type SystemStarter } from './system.js';

const wbGroup = 'whereabouts.cni.cncf.io';
const wbVersion = 'v1alpha1';
/** The kubeconfigs' current context names this namespace: Whereabouts keeps its objects there. */
const namespace = 'default';

interface WhereaboutsPool {
  spec: { range: string; allocations?: Record<string, { podref?: string }> };
}

export const startWhereabouts: SystemStarter = async (cp, admin, work, netns, log) => {
  const bin = join(ensureBinaries('whereabouts', log), 'whereabouts');
  const crds = join(moduleSource('whereabouts', 'github.com/k8snetworkplumbingwg/whereabouts'), 'doc/crds');
  await applyCrdFiles(admin, [
    join(crds, 'whereabouts.cni.cncf.io_ippools.yaml'),
    join(crds, 'whereabouts.cni.cncf.io_overlappingrangeipreservations.yaml'),
  ]);
  const flatFile = join(work, 'whereabouts.conf');
  writeFileSync(
    flatFile,
    JSON.stringify({
      datastore: 'kubernetes',
      kubernetes: { kubeconfig: cp.kubeconfigPath('admin') },
      log_file: join(work, 'whereabouts.log'),
      log_level: 'error',
    }),
  );
  const objects = admin.makeApiClient(CustomObjectsApi);
  let config = '';
  const clear = async () => {
    for (const plural of ['ippools', 'overlappingrangeipreservations'])
      await objects.deleteCollectionNamespacedCustomObject({
        group: wbGroup,
        version: wbVersion,
        namespace,
        plural,
      });
  };
  return {
    label: 'Whereabouts v0.9.2',
    async newPool(size) {
      // Whereabouts keys its pool by the range: clear what an earlier round left behind.
      await clear();
      const [range] = poolSpec(size).ips as [string];
      const [start, end] = range.split('-') as [string, string];
      config = JSON.stringify({
        cniVersion: '1.0.0',
        name: 'bench',
        ipam: {
          type: 'whereabouts',
          range: poolSpec(size).subnet,
          range_start: start,
          range_end: end,
          configuration_path: flatFile,
        },
      });
    },
    call(verb, pod, timeoutMs) {
      const env = { PATH: process.env.PATH, ...cniEnv(verb, pod, { netns }) };
      return runProcess(bin, [], env, config, timeoutMs);
    },
    async recorded() {
      const list = (await objects.listNamespacedCustomObject({
        group: wbGroup,
        version: wbVersion,
        namespace,
        plural: 'ippools',
      })) as { items: WhereaboutsPool[] };
      const holders = new Map<string, string[]>();
      for (const pool of list.items) {
        // Allocations are keyed by their offset from the range's network address.
        const base = parseIP(pool.spec.range.split('/')[0] as string, 4).value;
        for (const [offset, a] of Object.entries(pool.spec.allocations ?? {}))
          addHolder(holders, formatValue(4, base + BigInt(offset)), a.podref ?? '?');
      }
      return holders;
    },
    close: async () => {},
  };
};
