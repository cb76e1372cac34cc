// What the API server was asked during a window, from its own Prometheus counters (GET /metrics as
// the admin user): requests by verb and resource (apiserver_request_total), the bytes of the bodies
// it answered (apiserver_response_sizes, which Kubernetes records for reads, lists and writes alike)
// and the seconds it spent in them (apiserver_request_duration_seconds). Two scrapes, one before and
// one after; the difference is the window's. The scrapes themselves are GETs of /metrics, which no
// resource row counts.
import { type RequestOptions, request } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

/** Counter sums by `<VERB> <resource>[/<subresource>]`. */
export type MetricsSnapshot = Map<string, { requests: number; responseBytes: number; seconds: number }>;

export interface RequestRow {
  what: string;
  requests: number;
  responseBytes: number;
  seconds: number;
}

function labelsOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1] as string] = m[2] as string;
  return out;
}

/** Sums the named series of a Prometheus text exposition by verb, resource and subresource. */
export function parseRequestMetrics(text: string): MetricsSnapshot {
  const out: MetricsSnapshot = new Map();
  const series = {
    apiserver_request_total: 'requests',
    apiserver_response_sizes_sum: 'responseBytes',
    apiserver_request_duration_seconds_sum: 'seconds',
  } as const;
  for (const line of text.split('\n')) {
    const m = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
    const field = m && series[m[1] as keyof typeof series];
    if (!m || !field) continue;
    const l = labelsOf(m[2] as string);
    if (!l.resource) continue;
    const key = `${l.verb} ${l.resource}${l.subresource ? `/${l.subresource}` : ''}`;
    const entry = out.get(key) ?? { requests: 0, responseBytes: 0, seconds: 0 };
    entry[field] += Number(m[3]);
    out.set(key, entry);
  }
  return out;
}

/** GET `path` of the API server with the credentials of `kubeconfigPath`: the body of a 200. */
async function adminGet(kubeconfigPath: string, path: string, timeoutMs = 30_000): Promise<{ body: Buffer }> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error(`${kubeconfigPath}: no current cluster`);
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const body = await new Promise<Buffer>((resolve, reject) => {
    const req = request(new URL(path, server), { ...opts, method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`GET ${path}: HTTP ${res.statusCode}: ${body.toString('utf8', 0, 200)}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
  return { body };
}

/** The API server's request counters now, read with the credentials of `kubeconfigPath`. */
export async function scrapeMetrics(kubeconfigPath: string): Promise<MetricsSnapshot> {
  return parseRequestMetrics((await adminGet(kubeconfigPath, '/metrics')).body.toString('utf8'));
}

/** What happened between two snapshots, the busiest rows first. */
export function requestsBetween(before: MetricsSnapshot, after: MetricsSnapshot): RequestRow[] {
  const rows: RequestRow[] = [];
  for (const [what, a] of after) {
    const b = before.get(what) ?? { requests: 0, responseBytes: 0, seconds: 0 };
    const requests = Math.round(a.requests - b.requests);
    if (requests <= 0) continue;
    rows.push({
      what,
      requests,
      responseBytes: a.responseBytes - b.responseBytes,
      seconds: a.seconds - b.seconds,
    });
  }
  return rows.sort((x, y) => y.seconds - x.seconds);
}

/**
 * A CPU profile of the API server over the next `seconds` (Go's pprof format, for `go tool pprof`):
 * GET /debug/pprof/profile as the admin user. The API server must run with --profiling=true.
 */
export async function profileApiServer(kubeconfigPath: string, seconds: number): Promise<Buffer> {
  return (await adminGet(kubeconfigPath, `/debug/pprof/profile?seconds=${seconds}`, (seconds + 30) * 1000))
    .body;
}
