// The limits `npm run bench` measures beside the comparison, on this project's control plane:
//   - the API server's serial /status write rate on one pool object as it grows record by record
//     (what any design that writes the pool once per allocation is bound by), with the object's size;
//   - this project's allocator in-process (the leader's batch handler in this Node process: no process
//     start, no socket), one request at a time and in batches of 64, with its API time split into
//     reads and writes (counted from Node's http client diagnostics channels);
//   - the compiled plugin's cold start beside `node -e 0`;
//   - one ADD of the compiled plugin split: process start and exit, client setup, reads and writes
//     (from the plugin's own `done` and `batch` log lines), its CPU time (from /usr/bin/time), and the
//     CPU the API server and etcd spend per ADD (from /proc).
import { randomUUID } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import type { ClientRequest } from 'node:http';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { group, type SpiderIPPool, version } from '../api/index.js';
import { batchHandler } from '../cni/allocation/batch.js';
import type { AddRequest } from '../cni/allocation/requests.js';
import type { Logger } from '../cni/log/logger.js';
import { formatValue, parseIP } from '../ipam/address/ip.js';
import { encodeRecords, type PoolRecord } from '../ipam/records/codec.js';
import { describeApiError } from '../kube/errors.js';
import { RestClient } from '../kube/rest.js';
import { SpiderpoolApi } from '../kube/spiderpool.js';
import { cniEnv, netConf, pluginBinary, runProcess, testNode } from '../test/harness/cni-plugin.js';
import type { ControlPlane } from '../test/harness/control-plane.js';
import { poolSpec } from './cni-adds.js';
import { coldStart, median } from './harness.js';
import { createPods, nodeNames } from './peers/round.js';
import type { BenchPod } from './peers/system.js';
import { processCpu } from './proc-cpu.js';

export interface GrowthPoint {
  records: number;
  /** Size of the pool object as the API server returns it, in bytes. */
  bytes: number;
  /** Writes per second over the last stretch (since the previous point). */
  writesPerSec: number;
}

export interface StatusRate {
  records: number;
  wallMs: number;
  writesPerSec: number;
  points: GrowthPoint[];
  /** Why the writes stopped before `records`, e.g. etcd's request size limit. */
  stoppedBy?: string;
}

export interface InProcess {
  n: number;
  serialWallMs: number;
  serialPerSec: number;
  p50Ms: number;
  /** Per ADD, serial: GET requests and their summed time; writes (PUT/POST/PATCH) and theirs. */
  reads: { count: number; ms: number };
  writes: { count: number; ms: number };
  batch64WallMs: number;
  batch64PerSec: number;
  failures: number;
}

export interface AddSplit {
  calls: number;
  /** Medians per ADD, ms. */
  wallMs: number;
  processStartAndExitMs: number;
  clientSetupMs: number;
  readsAndWritesMs: number;
  pluginCpuMs: number;
  versionCpuMs: number;
  versionWallMs: number;
  /** Means per ADD over the calls, ms of CPU. */
  apiserverCpuMs: number;
  etcdCpuMs: number;
}

export interface Limits {
  statusRate: StatusRate;
  growth?: PoolGrowth;
  inProcess: InProcess;
  coldStart: { node: number; plugin: number };
  addSplit: AddSplit;
}

const quiet: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => quiet,
};

const firstAddress = parseIP('198.18.0.1', 4).value;

/** The i-th record of a bench pool, shaped like a Deployment's pod's: namespace/name, a UID, the NIC. */
function benchRecord(i: number): PoolRecord {
  const value = firstAddress + BigInt(i);
  return {
    ip: formatValue(4, value),
    value,
    pod: `bench-namespace/web-7d9f8c6b5-${i.toString(36).padStart(5, 'x')}`,
    podUid: randomUUID(),
    nic: 'eth0',
  };
}

async function withPool<T>(
  admin: KubeConfig,
  size: number,
  use: (name: string, first: SpiderIPPool) => Promise<T>,
) {
  const api = new SpiderpoolApi(new RestClient(admin));
  const name = `bench-status-${Date.now().toString(36)}`;
  const pool = await api.createPool({ metadata: { name }, spec: poolSpec(size) });
  try {
    return await use(name, pool);
  } finally {
    await admin
      .makeApiClient(CustomObjectsApi)
      .deleteClusterCustomObject({ group, version, plural: 'spiderippools', name })
      .catch(() => undefined);
  }
}

const statusPath = (name: string) => `/apis/${group}/${version}/spiderippools/${name}/status`;

/** PUTs `records` as the pool's status, guarded by the resourceVersion of `pool`; returns the new object. */
function putRecords(rest: RestClient, name: string, pool: SpiderIPPool, records: PoolRecord[]) {
  return rest.request<SpiderIPPool>('PUT', statusPath(name), {
    body: {
      ...pool,
      status: { ...pool.status, allocatedIPs: encodeRecords(records), allocatedIPCount: records.length },
    },
  });
}

/** Serial PUTs of one pool's /status, one record more each time, up to `records` (or a refusal). */
export async function statusUpdateRate(
  admin: KubeConfig,
  records: number,
  progress: (l: string) => void,
): Promise<StatusRate> {
  const rest = new RestClient(admin);
  try {
    return await withPool(admin, records, async (name, created) => {
      let pool = created;
      const held: PoolRecord[] = [];
      const points: GrowthPoint[] = [];
      const step = Math.max(1, Math.floor(records / 10));
      const started = performance.now();
      let mark = started;
      let stoppedBy: string | undefined;
      for (let i = 0; i < records; i++) {
        held.push(benchRecord(i));
        try {
          pool = await putRecords(rest, name, pool, held);
        } catch (err) {
          stoppedBy = `write ${i + 1} refused: ${describeApiError(err)}`;
          break;
        }
        if ((i + 1) % step === 0 || i + 1 === records) {
          const now = performance.now();
          const previous = points.at(-1)?.records ?? 0;
          const point = {
            records: i + 1,
            bytes: Buffer.byteLength(JSON.stringify(pool)),
            writesPerSec: (i + 1 - previous) / ((now - mark) / 1000),
          };
          points.push(point);
          mark = now;
          progress(
            `    ${point.records} records: ${(point.bytes / 1024).toFixed(0)} KiB, ${point.writesPerSec.toFixed(0)} writes/s`,
          );
        }
      }
      const wallMs = performance.now() - started;
      const written = points.at(-1)?.records ?? 0;
      return {
        records: written,
        wallMs,
        writesPerSec: written / (wallMs / 1000),
        points,
        ...(stoppedBy ? { stoppedBy } : {}),
      };
    });
  } finally {
    rest.close();
  }
}

export interface PoolGrowth {
  points: GrowthPoint[];
  /** The first size the API server refused, and its answer. */
  refused?: { records: number; error: string };
}

/**
 * How a pool's write rate and size grow with its records, up to where the API server refuses the
 * object (etcd's request limit, 1.5 MiB by default): at each size the pool is filled in one write,
 * then `writes` serial writes add one record each. Sizes step by 500 from 10,000 on.
 */
export async function poolGrowth(
  admin: KubeConfig,
  maxRecords: number,
  writes: number,
  progress: (l: string) => void,
): Promise<PoolGrowth> {
  const sizes = [1000, 2500, 5000, 7500];
  for (let size = 10_000; size <= maxRecords; size += 500) sizes.push(size);
  const rest = new RestClient(admin);
  const out: PoolGrowth = { points: [] };
  try {
    await withPool(admin, maxRecords + writes, async (name, created) => {
      let pool = created;
      const held: PoolRecord[] = [];
      for (const size of sizes) {
        while (held.length < size) held.push(benchRecord(held.length));
        try {
          pool = await putRecords(rest, name, pool, held);
          const started = performance.now();
          for (let k = 0; k < writes; k++) {
            held.push(benchRecord(held.length));
            pool = await putRecords(rest, name, pool, held);
          }
          const point = {
            records: size,
            bytes: Buffer.byteLength(JSON.stringify(pool)),
            writesPerSec: writes / ((performance.now() - started) / 1000),
          };
          out.points.push(point);
          progress(
            `    ${size} records: ${(point.bytes / 1024).toFixed(0)} KiB, ${point.writesPerSec.toFixed(0)} writes/s`,
          );
        } catch (err) {
          out.refused = { records: held.length, error: describeApiError(err) };
          progress(`    refused at ${held.length} records: ${out.refused.error}`);
          return;
        }
        held.length = size;
      }
    });
  } finally {
    rest.close();
  }
  return out;
}

/** Sums the time of the HTTP requests this process makes, by reads (GET) and writes (the rest). */
function httpTimer() {
  const open = new Map<ClientRequest, number>();
  const totals = { reads: { count: 0, ms: 0 }, writes: { count: 0, ms: 0 } };
  const onStart = (msg: unknown) => open.set((msg as { request: ClientRequest }).request, performance.now());
  const onFinish = (msg: unknown) => {
    const req = (msg as { request: ClientRequest }).request;
    const t = open.get(req);
    if (t === undefined) return;
    open.delete(req);
    const bucket = req.method === 'GET' ? totals.reads : totals.writes;
    bucket.count++;
    bucket.ms += performance.now() - t;
  };
  subscribe('http.client.request.start', onStart);
  subscribe('http.client.response.finish', onFinish);
  return {
    totals,
    reset() {
      totals.reads = { count: 0, ms: 0 };
      totals.writes = { count: 0, ms: 0 };
    },
    stop() {
      unsubscribe('http.client.request.start', onStart);
      unsubscribe('http.client.response.finish', onFinish);
    },
  };
}

function addRequest(pod: BenchPod, pool: string): AddRequest {
  return {
    verb: 'ADD',
    pod: { namespace: pod.namespace, name: pod.name, uid: pod.uid },
    ifname: 'eth0',
    containerId: `c-${pod.uid}`,
    network: 'bench',
    defaultIPv4Pools: [pool],
    defaultIPv6Pools: [],
    cleanGateway: false,
    switches: {
      enableIPv4: true,
      enableIPv6: false,
      enableStatefulSet: true,
      enableKubevirtStaticIP: true,
      enableIPConflictDetection: false,
    },
  };
}

/** N ADDs through the leader's batch handler in this process: one at a time, then 64 at a time. */
export async function inProcessAllocator(cp: ControlPlane, admin: KubeConfig, n: number): Promise<InProcess> {
  const api = new SpiderpoolApi(new RestClient(admin));
  const handler = batchHandler({
    kubeconfigPath: cp.kubeconfigPath('cni'),
    nodeName: nodeNames[0] as string,
    multus: { multusNamespace: 'kube-system' },
    log: quiet,
  });
  const pool = async (label: string) => {
    const name = `bench-inproc-${label}-${Date.now().toString(36)}`;
    await api.createPool({ metadata: { name }, spec: poolSpec(n) });
    return name;
  };
  let failures = 0;
  const serialPool = await pool('serial');
  const serialPods = await createPods(admin, n, 'bench-inproc-serial');
  // The first call loads the client; it is not what is measured.
  const timer = httpTimer();
  const latencies: number[] = [];
  const started = performance.now();
  for (const pod of serialPods) {
    const t = performance.now();
    const [answer] = await handler([addRequest(pod, serialPool)]);
    latencies.push(performance.now() - t);
    if (!answer?.ok) failures++;
  }
  const serialWallMs = performance.now() - started;
  const { reads, writes } = timer.totals;
  timer.stop();
  const batchPool = await pool('batch');
  const batchPods = await createPods(admin, n, 'bench-inproc-batch');
  const batchStarted = performance.now();
  for (let i = 0; i < batchPods.length; i += 64) {
    const answers = await handler(batchPods.slice(i, i + 64).map((p) => addRequest(p, batchPool)));
    failures += answers.filter((a) => !a.ok).length;
  }
  const batch64WallMs = performance.now() - batchStarted;
  return {
    n,
    serialWallMs,
    serialPerSec: n / (serialWallMs / 1000),
    p50Ms: median(latencies),
    reads: { count: reads.count / n, ms: reads.ms / n },
    writes: { count: writes.count / n, ms: writes.ms / n },
    batch64WallMs,
    batch64PerSec: n / (batch64WallMs / 1000),
    failures,
  };
}

/** user + system CPU of a process so far, in ms. */
const cpuMs = (pid: number | undefined): number => (pid ? (processCpu(pid) ?? 0) : 0) * 1000;

function controlPlanePids(cp: ControlPlane): { apiserver: number | undefined; etcd: number | undefined } {
  return { apiserver: cp.pid('kube-apiserver'), etcd: cp.pid('etcd') };
}

/** `calls` serial ADDs of the compiled plugin under /usr/bin/time, split by its own log lines. */
export async function addSplit(
  cp: ControlPlane,
  admin: KubeConfig,
  work: string,
  netns: string,
  calls: number,
): Promise<AddSplit> {
  const binary = pluginBinary();
  const api = new SpiderpoolApi(new RestClient(admin));
  const pool = `bench-split-${Date.now().toString(36)}`;
  await api.createPool({ metadata: { name: pool }, spec: poolSpec(calls) });
  const pods = await createPods(admin, calls, 'bench-split');
  const node = testNode(work, 'split-node');
  const config = JSON.stringify(
    netConf(node, cp.kubeconfigPath('cni'), {
      name: 'bench',
      ipam: { log_level: 'info', default_ipv4_ippool: [pool] },
    }),
  );
  const timed = async (env: Record<string, string | undefined>, stdin: string) => {
    const t = performance.now();
    const out = await runProcess(
      '/usr/bin/time',
      ['-f', '%U %S', binary],
      { PATH: process.env.PATH, ...env },
      stdin,
    );
    const [user, sys] = (out.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
    return { out, wallMs: performance.now() - t, cpuMs: ((user ?? 0) + (sys ?? 0)) * 1000 };
  };
  const version: Awaited<ReturnType<typeof timed>>[] = [];
  for (let i = 0; i < 10; i++)
    version.push(await timed({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}'));
  const pids = controlPlanePids(cp);
  const before = { apiserver: cpuMs(pids.apiserver), etcd: cpuMs(pids.etcd) };
  const walls: number[] = [];
  const cpus: number[] = [];
  for (const pod of pods.map((p) => ({ ...p, node: 0 }))) {
    const run = await timed(cniEnv('ADD', pod, { netns }), config);
    if (run.out.code !== 0) throw new Error(`ADD for the split failed: ${run.out.stdout}`);
    walls.push(run.wallMs);
    cpus.push(run.cpuMs);
  }
  const after = { apiserver: cpuMs(pids.apiserver), etcd: cpuMs(pids.etcd) };
  const lines = readFileSync(node.logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { msg: string; durationMs?: number; ms?: number });
  const done = lines.filter((l) => l.msg === 'done').map((l) => l.durationMs ?? 0);
  const batches = lines.filter((l) => l.msg === 'batch').map((l) => l.ms ?? 0);
  if (done.length !== calls || batches.length !== calls)
    throw new Error(`expected ${calls} done and batch lines, found ${done.length} and ${batches.length}`);
  return {
    calls,
    wallMs: median(walls),
    processStartAndExitMs: median(walls.map((w, i) => w - (done[i] ?? 0))),
    clientSetupMs: median(done.map((d, i) => d - (batches[i] ?? 0))),
    readsAndWritesMs: median(batches),
    pluginCpuMs: median(cpus),
    versionCpuMs: median(version.map((v) => v.cpuMs)),
    versionWallMs: median(version.map((v) => v.wallMs)),
    apiserverCpuMs: (after.apiserver - before.apiserver) / calls,
    etcdCpuMs: (after.etcd - before.etcd) / calls,
  };
}

export async function measureLimits(
  cp: ControlPlane,
  admin: KubeConfig,
  work: string,
  netns: string,
  opts: {
    /** ADDs for the in-process allocator, each way. */
    inProcess: number;
    poolRecords: number;
    growth: number;
    splitCalls: number;
    progress: (l: string) => void;
  },
): Promise<Limits> {
  const { progress } = opts;
  progress(`limits: serial /status writes on one pool growing to ${opts.poolRecords} records`);
  const statusRate = await statusUpdateRate(admin, opts.poolRecords, progress);
  let growth: PoolGrowth | undefined;
  if (opts.growth > 0) {
    progress(`limits: a pool's write rate and size from 1,000 to ${opts.growth} records (or the refusal)`);
    growth = await poolGrowth(admin, opts.growth, 20, progress);
  }
  progress(`limits: the allocator in-process, ${opts.inProcess} ADDs one at a time, then 64 at a time`);
  const inProcess = await inProcessAllocator(cp, admin, opts.inProcess);
  progress('limits: cold start of the compiled plugin beside node -e 0 (20 rounds)');
  const start = coldStart(20);
  progress(`limits: ${opts.splitCalls} serial ADDs of the compiled plugin, split by its log lines`);
  const split = await addSplit(cp, admin, work, netns, opts.splitCalls);
  return { statusRate, ...(growth ? { growth } : {}), inProcess, coldStart: start, addSplit: split };
}
