import { composeContainerPorts, composeEnvironment, composeFile } from './docker-compose';

describe('docker-compose.yml', () => {
  const { services } = composeFile();
  const apps = ['groups-service', 'legacy-sync-service', 'evaluator-service', 'lms-emulator'];

  it('has the infrastructure and every app', () => {
    expect(Object.keys(services).sort()).toEqual([...apps, 'kafka', 'mysql', 'schema-registry'].sort());
    expect(services.kafka.image).toMatch(/^apache\/kafka:3\.9\./);
    expect(services.mysql.image).toBe('mysql:8.4');
  });

  it('publishes every port on 127.0.0.1 only: the local stack has no password and plaintext Kafka', () => {
    const published = Object.values(services)
      .flatMap((s) => s.ports ?? [])
      .map(String);
    expect(published.length).toBeGreaterThan(0);
    for (const port of published) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it('runs the apps for development, the emulator as a test peer', () => {
    for (const app of apps) expect(composeEnvironment(app).NODE_ENV).toBe('development');
    expect(composeEnvironment('lms-emulator').LMS_EMULATOR_TEST_PEER).toBe('true');
  });

  it('points every app at the broker listener, database and registry it defines', () => {
    const internalListener = String(composeEnvironment('kafka').KAFKA_ADVERTISED_LISTENERS).match(
      /INTERNAL:\/\/([^,]+)/,
    )![1];
    const registryPort = composeContainerPorts('schema-registry')[0];
    for (const app of apps) {
      const env = composeEnvironment(app);
      expect(env.KAFKA_BROKERS).toBe(internalListener);
      expect(env.MYSQL_URL).toBe(`mysql://root@mysql:${composeContainerPorts('mysql')[0]}`);
      expect(env.SCHEMA_REGISTRY_URL).toBe(`http://schema-registry:${registryPort}/apis/ccompat/v7`);
      expect(env.HOST).toBe('0.0.0.0');
      expect(services[app].build?.args?.APP).toBe(app);
    }
  });

  it.each(['legacy-sync-service', 'groups-service'])(
    'sends %s to the LMS emulator with the client the emulator accepts',
    (app) => {
      const env = composeEnvironment(app);
      const lms = composeEnvironment('lms-emulator');
      expect(env.LMS_BASE_URL).toBe(`http://lms-emulator:${lms.PORT}`);
      expect([env.LMS_OAUTH_CLIENT_ID, env.LMS_OAUTH_CLIENT_SECRET]).toEqual([
        lms.LMS_OAUTH_CLIENT_ID,
        lms.LMS_OAUTH_CLIENT_SECRET,
      ]);
    },
  );

  it('makes groups-service trust the tokens the LMS emulator signs', () => {
    const groups = composeEnvironment('groups-service');
    const lms = composeEnvironment('lms-emulator');
    expect(groups.JWT_ISSUER).toBe(lms.LMS_JWT_ISSUER);
    expect(groups.JWT_JWKS_URL).toBe(`http://lms-emulator:${lms.PORT}/oauth2/jwks.json`);
  });
});
