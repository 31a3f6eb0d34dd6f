import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/** Serves a JSON Web Key Set on 127.0.0.1 and an ephemeral port, as the LMS serves /oauth2/jwks.json. */
export class JwksServer {
  /** Set to answer with something other than 200 and the key set. */
  status = 200;
  /** Set to take requests and never answer them (an LMS that hangs). */
  hang = false;
  requests = 0;

  private constructor(
    private readonly server: Server,
    private body: unknown,
  ) {
    server.on('request', (_req, res) => {
      this.requests += 1;
      if (this.hang) return;
      res
        .writeHead(this.status, { 'content-type': 'application/json' })
        .end(JSON.stringify(this.status === 200 ? this.body : { error: 'unavailable' }));
    });
  }

  static async start(jwks: unknown): Promise<JwksServer> {
    const server = createServer();
    const jwksServer = new JwksServer(server, jwks);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return jwksServer;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/oauth2/jwks.json`;
  }

  serve(jwks: unknown): void {
    this.body = jwks;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((e) => (e ? reject(e) : resolve())));
  }
}
