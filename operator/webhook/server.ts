// The admission webhook server: HTTPS, AdmissionReview v1 in and out, one route per
// /mutate/<plural> and /validate/<plural>. Every replica serves it (admission is stateless); the
// certificate is swapped in place when it is renewed, without dropping the listener.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../observability/log.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import { type AdmissionRequest, parseReview, reviewResponse } from './admission.js';
import type { Review } from './handlers.js';
import type { CertBundle } from './tls-secret.js';

const maxBody = 3 * 1024 * 1024; // the API server's own request limit

export interface WebhookServerOptions {
  port: number;
  host: string;
  reviews: Record<string, Review>;
  log: Logger;
  metrics: OperatorMetrics;
}

export class WebhookServer {
  private server?: Server;

  constructor(private readonly opts: WebhookServerOptions) {}

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  async start(cert: CertBundle): Promise<void> {
    const server = createServer({ cert: cert.cert, key: cert.key, minVersion: 'TLSv1.2' }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.opts.log.error('webhook request failed', { path: req.url, error: err });
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    server.on('tlsClientError', (err) => this.opts.log.debug('webhook TLS handshake failed', { error: err }));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.opts.log.info('webhook server listening', { address: `${this.opts.host}:${this.port}` });
  }

  /** Serves a renewed certificate to new connections. */
  updateCertificate(cert: CertBundle): void {
    this.server?.setSecureContext({ cert: cert.cert, key: cert.key, minVersion: 'TLSv1.2' });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const path = new URL(req.url ?? '/', 'https://webhook').pathname;
    const review = this.opts.reviews[path];
    if (!review)
      return void res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`no webhook at ${path}\n`);
    if (req.method !== 'POST') return void res.writeHead(405, { Allow: 'POST' }).end();
    let request: AdmissionRequest;
    try {
      request = parseReview(JSON.parse(await readBody(req)));
    } catch (err) {
      this.opts.log.warn('bad admission request', { path, error: err });
      return void res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`${(err as Error).message}\n`);
    }
    const response = await review(request);
    const object = request.namespace ? `${request.namespace}/${request.name}` : request.name;
    if (!response.allowed)
      this.opts.log.info('admission denied', {
        webhook: path,
        operation: request.operation,
        object,
        reason: response.status?.message,
      });
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(reviewResponse(response)));
    this.opts.metrics.webhookDuration.observe(
      { webhook: path, operation: request.operation, allowed: String(response.allowed) },
      (performance.now() - started) / 1000,
    );
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) {
        reject(new Error(`request body larger than ${maxBody} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
