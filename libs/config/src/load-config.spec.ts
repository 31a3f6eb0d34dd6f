import { ConfigValidationError, describeConfig, loadConfig } from './load-config';
import { ServiceConfig } from './service.config';

describe('loadConfig', () => {
  it('applies defaults and converts types', () => {
    const config = loadConfig(ServiceConfig, { PORT: '4000' });
    expect(config.PORT).toBe(4000);
    expect(config.KAFKA_BROKERS).toBe('127.0.0.1:9092');
  });

  it('lists every failing field at once, without printing secrets', () => {
    const error = (() => {
      try {
        loadConfig(ServiceConfig, { PORT: 'eighty', KAFKA_BROKERS: 'no port here', MYSQL_URL: 'postgres://u:hunter2@h/db' });
      } catch (e) {
        return e as ConfigValidationError;
      }
      throw new Error('expected a validation error');
    })();
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect(error.fields.map((f) => f.split(' ')[0])).toEqual(expect.arrayContaining(['PORT', 'KAFKA_BROKERS', 'MYSQL_URL']));
    expect(error.message).not.toContain('hunter2');
  });

  it('masks credentials in URLs when describing the config', () => {
    const config = loadConfig(ServiceConfig, { MYSQL_URL: 'mysql://app:hunter2@db:3306' });
    expect(JSON.stringify(describeConfig(config))).not.toContain('hunter2');
  });
});
