import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** An LMS on a local port that grants any token and answers every other call with `answer`; counts calls and the most in flight. */
export class FakeLms {
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;
  private server?: Server;

  constructor(public answer: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      if (req.url === '/oauth2/access_token') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ access_token: 't', expires_in: 3600 }));
        return;
      }
      this.calls++;
      this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
      res.on('close', () => this.inFlight--);
      void this.answer(req, res);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  reset(): void {
    this.calls = 0;
    this.maxInFlight = 0;
  }

  stop(): Promise<void> {
    this.server?.closeAllConnections();
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** The LMS throttling: 429 and come back in 60 s. */
export const throttled = (_req: IncomingMessage, res: ServerResponse) =>
  void res
    .writeHead(429, { 'content-type': 'application/json', 'retry-after': '60' })
    .end('{"detail":"Request was throttled."}');

/** A DRF permission denial, as a client whose user is no longer staff, or a restricted one, gets it. */
export const denied = (_req: IncomingMessage, res: ServerResponse) =>
  void res
    .writeHead(403, { 'content-type': 'application/json' })
    .end('{"detail":"You do not have permission to perform this action."}');
