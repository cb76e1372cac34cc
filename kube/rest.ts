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
  private agent: Agent | undefined;
  private agentKey = '';
  /** Agents of earlier TLS material: their requests (long watches) finish on them; closed at close(). */
  private readonly retired: Agent[] = [];

  constructor(
    readonly kubeConfig: KubeConfig,
    private readonly defaultTimeoutMs = 30_000,
  ) {}

  get server(): string {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    return cluster.server;
  }

  /**
   * applyToHTTPSOptions sets the credentials and a new, non-keep-alive agent on every call, so each
   * request would pay a TLS handshake. Connections are reused instead through one keep-alive agent
   * built from the same TLS material, replaced only when that material changes (rotated files).
   */
  private keepAliveAgent(opts: RequestOptions): Agent {
    const tls = {
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      pfx: opts.pfx,
      passphrase: opts.passphrase,
      servername: opts.servername,
      ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
    };
    const key = JSON.stringify(tls, (_, v) => (Buffer.isBuffer(v) ? v.toString('base64') : v));
    if (!this.agent || key !== this.agentKey) {
      if (this.agent) this.retired.push(this.agent);
      // No socket limit: watches hold their connection for minutes and must never queue other requests.
      this.agent = new Agent({ keepAlive: true, ...tls });
      this.agentKey = key;
    }
    return this.agent;
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
      headers: { Accept: contentTypes.json },
      ...(req.signal ? { signal: req.signal } : {}),
    };
    await this.kubeConfig.applyToHTTPSOptions(opts);
    opts.agent = this.keepAliveAgent(opts);
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
    for (const agent of [...this.retired.splice(0), this.agent]) agent?.destroy();
    this.agent = undefined;
  }
}
