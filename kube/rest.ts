// JSON requests to any path of the API server with the kubeconfig's credentials. client-node's
// generated clients need a typed method per resource; a framework that watches, lists and patches
// resources named only by group/version/plural needs the paths themselves. Failures are client-node's
// ApiException (code, body as the Status JSON string), so kube/errors.ts reads them unchanged.
import { Agent, type RequestOptions, request } from 'node:https';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';

export interface RestRequest {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Defaults to application/json; patches name their strategy here. */
  contentType?: string;
  /** Per-request timeout; a hung API server must not hang a caller forever. */
  timeoutMs?: number;
  /** Aborts the request (e.g. a list in progress when its watch is stopped). */
  signal?: AbortSignal;
}

export const contentTypes = {
  json: 'application/json',
  mergePatch: 'application/merge-patch+json',
  jsonPatch: 'application/json-patch+json',
} as const;

export class RestClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });

  constructor(
    readonly kubeConfig: KubeConfig,
    private readonly defaultTimeoutMs = 30_000,
  ) {}

  get server(): string {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    return cluster.server;
  }

  get<T>(path: string, req: RestRequest = {}): Promise<T> {
    return this.request<T>('GET', path, req);
  }

  async request<T>(method: string, path: string, req: RestRequest = {}): Promise<T> {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(req.query ?? {}))
      if (value !== undefined) url.searchParams.set(key, String(value));
    const opts: RequestOptions = {
      method,
      agent: this.agent,
      headers: { Accept: contentTypes.json },
      ...(req.signal ? { signal: req.signal } : {}),
    };
    await this.kubeConfig.applyToHTTPSOptions(opts);
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    if (payload) {
      opts.headers = {
        ...opts.headers,
        'Content-Type': req.contentType ?? contentTypes.json,
        'Content-Length': payload.length,
      };
    }
    const timeoutMs = req.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const r = request(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            try {
              resolve((text ? JSON.parse(text) : undefined) as T);
            } catch (err) {
              reject(new Error(`${method} ${path}: response is not JSON: ${(err as Error).message}`));
            }
            return;
          }
          const headers = Object.fromEntries(
            Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
          );
          reject(new ApiException(status, `${method} ${path}: HTTP ${status}`, text, headers));
        });
      });
      r.setTimeout(timeoutMs, () =>
        r.destroy(
          Object.assign(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`), { code: 'ETIMEDOUT' }),
        ),
      );
      r.on('error', reject);
      if (payload) r.write(payload);
      r.end();
    });
  }

  /** Closes idle keep-alive connections (for a clean exit). */
  close(): void {
    this.agent.destroy();
  }
}
