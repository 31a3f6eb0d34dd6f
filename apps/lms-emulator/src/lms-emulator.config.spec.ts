import { ConfigValidationError, loadConfig } from '@groups-sync/config';
import { LmsEmulatorConfig } from './lms-emulator.config';

const PRODUCTION = {
  NODE_ENV: 'production',
  MYSQL_URL: 'mysql://lms:pw@db:3306',
  KAFKA_BROKERS: 'kafka:9092',
  SCHEMA_REGISTRY_URL: 'https://registry.example.com',
  LMS_OAUTH_CLIENT_SECRET: 'chosen',
  LMS_JWT_SECRET_KEY: 'a-secret-chosen-by-the-operator',
};

function failing(env: Record<string, string>): string[] {
  try {
    loadConfig(LmsEmulatorConfig, env);
  } catch (e) {
    return (e as ConfigValidationError).fields;
  }
  throw new Error('expected a validation error');
}

describe('LmsEmulatorConfig', () => {
  it('is no test peer unless told: its fixture and token endpoints are off by default', () => {
    expect(loadConfig(LmsEmulatorConfig, {}).LMS_EMULATOR_TEST_PEER).toBe(false);
    expect(loadConfig(LmsEmulatorConfig, { LMS_EMULATOR_TEST_PEER: 'true' }).LMS_EMULATOR_TEST_PEER).toBe(true);
  });

  it('refuses to run as a test peer with NODE_ENV=production', () => {
    expect(failing({ ...PRODUCTION, LMS_EMULATOR_TEST_PEER: 'true' })).toEqual([
      expect.stringMatching(/^LMS_EMULATOR_TEST_PEER \("true"\): must be false/),
    ]);
  });

  it('takes no default client secret with NODE_ENV=production', () => {
    expect(failing({ ...PRODUCTION, LMS_OAUTH_CLIENT_SECRET: '' })).toEqual([
      expect.stringMatching(/^LMS_OAUTH_CLIENT_SECRET \(unset\): required with NODE_ENV=production/),
    ]);
  });
});
