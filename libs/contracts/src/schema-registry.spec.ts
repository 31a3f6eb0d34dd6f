import { ConfluentSchemaRegistry } from './schema-registry';

describe('ConfluentSchemaRegistry', () => {
  let fetchSpy: jest.SpyInstance;
  const sentHeaders = () =>
    fetchSpy.mock.calls.map(([, init]) => (init as RequestInit).headers as Record<string, string>);

  beforeEach(() => {
    fetchSpy = jest
      .spyOn(globalThis, 'fetch')
      .mockImplementation(async () => new Response(JSON.stringify({ id: 7 }), { status: 200 }));
  });
  afterEach(() => fetchSpy.mockRestore());

  it('sends basic auth with the API key and secret when they are configured', async () => {
    const registry = new ConfluentSchemaRegistry('https://registry.example.com', {
      auth: { key: 'SR-KEY', secret: 's3cret' },
    });
    expect(await registry.register('topic-value', 'string')).toBe(7);
    expect(sentHeaders()[0].authorization).toBe(`Basic ${Buffer.from('SR-KEY:s3cret').toString('base64')}`);
  });

  it('sends no authorization header without credentials', async () => {
    await new ConfluentSchemaRegistry('http://127.0.0.1:8081').register('topic-value', 'string');
    expect(sentHeaders()[0]).not.toHaveProperty('authorization');
  });
});
