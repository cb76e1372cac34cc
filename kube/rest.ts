// The one way both executables talk to the API server: JSON requests to any path with the
// kubeconfig's credentials (client-node's KubeConfig reads them: tokens, certificates, exec plugins,
// rotated files). Paths, not generated clients: the operator's framework names resources only by
// group/version/plural, and the plugin's reads are a handful of GETs (kube/resource.ts builds the
// paths). The transport is node-fetch, which Bun's compiled executables replace by Bun's native
// fetch: measured in the compiled plugin, a kubeconfig and six GETs cost 28 ms of CPU through it, 29
// through client-node's typed clients and 39 through node:https (docs/facts.md#rest-layer). Failures
// are client-node's ApiException (code, body as the Status JSON string, headers), so kube/errors.ts
// reads them.
import { Agent, type RequestOptions } from 'node:https';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import fetch, { type RequestInit } from 'node-fetch';

export interface RestRequest {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Defaults to application/json; patches name their strategy here. */
  contentType?: string;
  /** Defaults to application/json; a metadata-only list asks for PartialObjectMetadataList here. */
  accept?: string;
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

type TlsMaterial = Pick<
  RequestOptions,
  'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'servername' | 'rejectUnauthorized'
>;

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return false;
}

function sameTls(a: TlsMaterial, b: TlsMaterial): boolean {
  const keys = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'servername', 'rejectUnauthorized'] as const;
  return keys.every((k) => sameValue(a[k], b[k]));
}

export class RestClient {
  private agent: Agent | undefined;
  private agentTls: TlsMaterial | undefined;
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
   * built from the same TLS material, replaced only when that material changes (rotated files). The
   * material is compared field by field: serialising it on every request (certificates and keys as
   * base64) cost more CPU than the requests themselves in a profile of one plugin call.
   */
  private keepAliveAgent(opts: RequestOptions): Agent {
    const tls: TlsMaterial = {
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      pfx: opts.pfx,
      passphrase: opts.passphrase,
      servername: opts.servername,
      ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
    };
    if (!this.agent || !this.agentTls || !sameTls(tls, this.agentTls)) {
      if (this.agent) this.retired.push(this.agent);
      // No socket limit: watches hold their connection for minutes and must never queue other requests.
      this.agent = new Agent({ keepAlive: true, ...tls });
      this.agentTls = tls;
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
    const opts: RequestOptions = { headers: { Accept: req.accept ?? contentTypes.json } };
    await this.kubeConfig.applyToHTTPSOptions(opts);
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    if (payload !== undefined) headers['Content-Type'] = req.contentType ?? contentTypes.json;
    const timeoutMs = req.timeoutMs ?? this.defaultTimeoutMs;
    // One signal for the caller's abort and the timeout; it covers reading the body too.
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, timeoutMs);
    const forward = () => abort.abort();
    req.signal?.addEventListener('abort', forward, { once: true });
    if (req.signal?.aborted) abort.abort();
    const init: RequestInit = {
      method,
      headers,
      agent: this.keepAliveAgent(opts),
      // node-fetch's types predate the DOM AbortSignal they accept.
      signal: abort.signal as RequestInit['signal'],
      ...(payload !== undefined ? { body: payload } : {}),
    };
    try {
      const res = await fetch(url.toString(), init);
      const text = await res.text();
      if (res.ok) {
        try {
          return (text ? JSON.parse(text) : undefined) as T;
        } catch (err) {
          throw new Error(`${method} ${path}: response is not JSON: ${(err as Error).message}`);
        }
      }
      const answered: Record<string, string> = {};
      res.headers.forEach((value, key) => {
        answered[key] = value;
      });
      throw new ApiException(res.status, `${method} ${path}: HTTP ${res.status}`, text, answered);
    } catch (err) {
      if (timedOut)
        throw Object.assign(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`), {
          code: 'ETIMEDOUT',
        });
      throw err;
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', forward);
    }
  }

  /** Closes idle keep-alive connections (for a clean exit). */
  close(): void {
    for (const agent of [...this.retired.splice(0), this.agent]) agent?.destroy();
    this.agent = undefined;
  }
}
