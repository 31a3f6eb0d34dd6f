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
        loadConfig(ServiceConfig, {
          PORT: 'eighty',
          KAFKA_BROKERS: 'no port here',
          MYSQL_URL: 'postgres://u:hunter2@h/db',
        });
      } catch (e) {
        return e as ConfigValidationError;
      }
      throw new Error('expected a validation error');
    })();
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect(error.fields.map((f) => f.split(' ')[0])).toEqual(
      expect.arrayContaining(['PORT', 'KAFKA_BROKERS', 'MYSQL_URL']),
    );
    expect(error.message).not.toContain('hunter2');
  });

  it('masks credentials in URLs when describing the config', () => {
    const config = loadConfig(ServiceConfig, { MYSQL_URL: 'mysql://app:hunter2@db:3306' });
    expect(JSON.stringify(describeConfig(config))).not.toContain('hunter2');
  });

  describe('secrets from files (<NAME>_FILE)', () => {
    const files: Record<string, string> = {
      '/run/secrets/mysql_url': 'mysql://app:hunter2@db:3306\n',
      '/run/secrets/empty': '\n',
    };
    const readFile = (path: string) => {
      if (path in files) return files[path];
      throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    };

    it('reads a value from its file, without the trailing newline', () => {
      expect(loadConfig(ServiceConfig, { MYSQL_URL_FILE: '/run/secrets/mysql_url' }, readFile).MYSQL_URL).toBe(
        'mysql://app:hunter2@db:3306',
      );
    });

    it('takes an empty file for an unset value (a registry without basic auth)', () => {
      const env = {
        EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY_FILE: '/run/secrets/empty',
        EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET_FILE: '/run/secrets/empty',
      };
      expect(loadConfig(ServiceConfig, env, readFile).EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY).toBeUndefined();
    });

    it('refuses a value given both ways, and a file it cannot read', () => {
      const error = (() => {
        try {
          loadConfig(
            ServiceConfig,
            {
              MYSQL_URL: 'mysql://a@b',
              MYSQL_URL_FILE: '/run/secrets/mysql_url',
              KAFKA_BROKERS_FILE: '/run/secrets/none',
            },
            readFile,
          );
        } catch (e) {
          return e as ConfigValidationError;
        }
        throw new Error('expected a validation error');
      })();
      expect(error.fields).toEqual([
        'MYSQL_URL: set MYSQL_URL or MYSQL_URL_FILE, not both',
        'KAFKA_BROKERS_FILE (/run/secrets/none): cannot be read: ENOENT',
      ]);
    });
  });
});
