import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createServer, IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { register } from 'prom-client';
import { HealthProbeName, HealthProbes } from './health.controller';

const PROBES: Record<string, HealthProbeName> = {
  '/health/live': 'live',
  '/health/ready': 'ready',
  '/health/consumers': 'consumers',
};

/**
 * The operations port (OPS_PORT): /metrics for Prometheus, and the probes with their details
 * (/health/consumers names brokers and errors, metrics carry course keys). No tokens: Prometheus
 * scrapes without one, so this port stays on the private network, unpublished; the API port keeps
 * only /health/live and /health/ready, without details, for load balancers.
 */
@Injectable()
export class OperationsServer implements OnApplicationShutdown {
  private readonly logger = new Logger('Operations');
  private server?: Server;

  constructor(private readonly probes: HealthProbes) {}

  /** The handler, for in-process tests (supertest) that do not listen. */
  readonly listener: RequestListener = (req, res) => {
    this.handle(req, res).catch((error: Error) => {
      this.logger.error(error.stack ?? error.message);
      if (!res.headersSent)
        send(
          res,
          500,
          'application/json',
          JSON.stringify({ code: 'INTERNAL_ERROR', message: 'unexpected error; see the service log', details: {} }),
        );
      else res.end();
    });
  };

  /** The port it listens on (OPS_PORT, or the one the system chose for 0). */
  get port(): number | undefined {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : undefined;
  }

  async listen(port: number, host: string): Promise<void> {
    const server = createServer(this.listener);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics')
      return send(res, 200, register.contentType, await register.metrics());
    const probe = PROBES[path];
    if (req.method === 'GET' && probe) {
      const { status, body } = await this.probes.check(probe);
      return send(res, status, 'application/json', JSON.stringify(body));
    }
    send(
      res,
      404,
      'application/json',
      JSON.stringify({
        code: 'NOT_FOUND',
        message: `${req.method} ${path}: the operations port serves GET /metrics, /health/live, /health/ready, /health/consumers`,
        details: {},
      }),
    );
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }).end(body);
}
