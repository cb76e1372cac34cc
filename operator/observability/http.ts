// Plain-HTTP endpoints: /metrics on the metrics port, /healthz and /readyz on the health port
// (one server when both ports are the same).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './log.js';
import type { OperatorMetrics } from './metrics.js';

export interface Probe {
  ok: boolean;
  detail: string;
}

export interface HttpEndpointsOptions {
  host: string;
  metricsPort: number;
  healthPort: number;
  metrics: OperatorMetrics;
  log: Logger;
  healthz: () => Probe;
  readyz: () => Probe;
}

type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export class HttpEndpoints {
  private servers: Server[] = [];

  constructor(private readonly opts: HttpEndpointsOptions) {}

  /** Bound ports, metrics first then health (the same when shared). */
  get ports(): { metrics: number; health: number } {
    const port = (s: Server | undefined) => (s?.address() as AddressInfo | null)?.port ?? 0;
    const [first, second] = this.servers;
    return { metrics: port(first), health: port(second ?? first) };
  }

  async start(): Promise<void> {
    const metricsRoutes: Record<string, Route> = {
      '/metrics': async (_req, res) => {
        const body = await this.opts.metrics.registry.metrics();
        res.writeHead(200, { 'Content-Type': this.opts.metrics.registry.contentType }).end(body);
      },
    };
    const probe =
      (fn: () => Probe): Route =>
      (_req, res) => {
        const p = fn();
        res.writeHead(p.ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(`${p.detail}\n`);
      };
    const healthRoutes: Record<string, Route> = {
      '/healthz': probe(this.opts.healthz),
      '/readyz': probe(this.opts.readyz),
    };
    if (this.opts.metricsPort === this.opts.healthPort && this.opts.metricsPort !== 0) {
      this.servers.push(await this.listen(this.opts.metricsPort, { ...metricsRoutes, ...healthRoutes }));
    } else {
      this.servers.push(await this.listen(this.opts.metricsPort, metricsRoutes));
      this.servers.push(await this.listen(this.opts.healthPort, healthRoutes));
    }
  }

  async stop(): Promise<void> {
    const servers = this.servers;
    this.servers = [];
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeIdleConnections();
          }),
      ),
    );
  }

  private listen(port: number, routes: Record<string, Route>): Promise<Server> {
    const server = createServer((req, res) => {
      const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
      if (!route) return void res.writeHead(404).end();
      Promise.resolve(route(req, res)).catch((err: unknown) => {
        this.opts.log.error('http endpoint failed', { path: req.url, error: err });
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.opts.host, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }
}
