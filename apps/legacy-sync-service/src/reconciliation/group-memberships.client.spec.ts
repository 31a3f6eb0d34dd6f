import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';
import { GroupMembershipsClient } from './group-memberships.client';

describe('GroupMembershipsClient over the paged memberships search', () => {
  let server: Server;
  const bodies: Array<{ group_ids: string[]; cursor?: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/oauth2/access_token') {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ access_token: 't', expires_in: 3600 }));
        return;
      }
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(text) as { group_ids: string[]; cursor?: string };
        bodies.push(body);
        const page = body.cursor ? Number(body.cursor) : 0;
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            group_ids: ['g1'],
            missing_group_ids: ['gone'],
            memberships: [{ group_id: 'g1', user_id: page + 1 }],
            next_cursor: page < 2 ? String(page + 1) : null,
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it("follows next_cursor until it is null, with the same groups, and keeps every page's rows", async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new GroupMembershipsClient(
      Object.assign(new LegacySyncServiceConfig(), { LMS_BASE_URL: url, GROUPS_SERVICE_URL: url }),
    );
    const { memberships, missing } = await client.of(['g1', 'gone']);
    expect(memberships.map((m) => m.user_id)).toEqual([1, 2, 3]);
    expect([...missing]).toEqual(['gone']);
    expect(bodies.map((b) => b.cursor)).toEqual([undefined, '1', '2']);
    expect(bodies.every((b) => b.group_ids.join() === 'g1,gone')).toBe(true);
  });
});
