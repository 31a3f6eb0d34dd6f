import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeFile, envFile, PRODUCTION_COMPOSE } from './docker-compose';
import { WORKSPACE_ROOT } from './stack-env';

const SERVICES = ['evaluator-service', 'groups-service', 'legacy-sync-service'];
const read = (file: string) => readFileSync(join(WORKSPACE_ROOT, file), 'utf8');

/** `GRANT a, b ON `db`.* TO 'user'@...` statements of an SQL file: user → database → privileges. */
function grants(sql: string): Map<string, Map<string, string[]>> {
  const byUser = new Map<string, Map<string, string[]>>();
  for (const [, privileges, on, user] of sql.matchAll(/^\s*GRANT\s+(.+?)\s+ON\s+(\S+)\s+TO\s+'([^']+)'/gim)) {
    const database = on.replace(/`/g, '').replace(/\.\*$/, '');
    const forUser = byUser.get(user) ?? new Map<string, string[]>();
    forUser.set(
      database,
      [...(forUser.get(database) ?? []), ...privileges.split(',').map((p) => p.trim().toUpperCase())].sort(),
    );
    byUser.set(user, forUser);
  }
  return byUser;
}

/** Names that hold a secret; in the production files only their `_FILE` forms may appear. */
const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|_KEY)$/;
/** A URL that carries credentials (`scheme://user:password@host`). */
const CREDENTIALS_IN_URL = /[a-z]+:\/\/[^\s/:@]+:[^\s/@]+@/i;

describe(PRODUCTION_COMPOSE, () => {
  const compose = composeFile(PRODUCTION_COMPOSE);
  const services = Object.entries(compose.services);
  const text = readFileSync(join(WORKSPACE_ROOT, PRODUCTION_COMPOSE), 'utf8');
  const example = envFile('deploy/production.env.example');

  it('runs the three services alone, and their migrate step: no emulator, database, broker or registry', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...SERVICES, 'migrate'].sort());
    for (const [name, service] of services) {
      expect(`${name} ${service.image ?? ''} ${service.build?.args?.APP ?? ''}`).not.toMatch(
        /emulator|mysql|mariadb|kafka|zookeeper|registry|apicurio/i,
      );
    }
  });

  it('publishes nothing but the APIs, on 127.0.0.1 only: no database, broker, registry or emulator port', () => {
    const published = services.flatMap(([, s]) => s.ports ?? []).map(String);
    expect(published.sort()).toEqual(['127.0.0.1:3001:3001', '127.0.0.1:3002:3002', '127.0.0.1:3003:3003']);
    for (const port of published.flatMap((p) => p.split(':').slice(1)).map(Number))
      expect([3306, 9092, 9093, 8081, 8080, 18000]).not.toContain(port);
  });

  it("says that TLS ends at the operator's proxy or ingress, in front of the 127.0.0.1 ports", () => {
    expect(text).toMatch(/TLS[^\n]*(proxy|ingress)/i);
  });

  it('runs every service for production, with a healthcheck', () => {
    for (const [name, service] of services) {
      expect(service.environment?.NODE_ENV).toBe('production');
      if (name !== 'migrate') expect(service.healthcheck?.test.join(' ')).toMatch(/\/health\/ready/);
    }
  });

  it.each(SERVICES.concat('migrate'))(
    'runs %s as a non-root user on a read-only root file system, /tmp a tmpfs',
    (name) => {
      const service = compose.services[name];
      expect(service.user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
      expect(service.read_only).toBe(true);
      expect(service.tmpfs).toContain('/tmp');
    },
  );

  it.each(SERVICES.concat('migrate'))('runs %s without capabilities or privilege escalation', (name) => {
    expect(compose.services[name].cap_drop).toEqual(['ALL']);
    expect(compose.services[name].security_opt).toContain('no-new-privileges:true');
  });

  it.each(SERVICES.concat('migrate'))('bounds %s in memory, CPU and processes, and rotates its logs', (name) => {
    const { deploy, logging } = compose.services[name];
    expect(deploy?.resources?.limits).toEqual({
      memory: expect.stringMatching(/^\d+[MG]$/),
      cpus: expect.anything(),
      pids: expect.any(Number),
    });
    expect(Number(deploy?.resources?.limits?.cpus)).toBeGreaterThan(0);
    expect(logging).toEqual({
      driver: 'json-file',
      options: { 'max-size': expect.stringMatching(/^\d+m$/), 'max-file': expect.stringMatching(/^\d+$/) },
    });
  });

  it('migrates once, as the migrator, in a one-shot step the services wait for', () => {
    const migrate = compose.services.migrate;
    expect(migrate.restart).toBe('no');
    expect(migrate.ports).toBeUndefined();
    expect(migrate.environment?.MYSQL_URL_FILE).toBe('/run/secrets/migrator_mysql_url');
    expect(migrate.secrets).toEqual(['migrator_mysql_url']);
    const command = [migrate.command ?? []].flat().join(' ');
    for (const app of SERVICES) {
      expect(command).toContain(app);
      expect(existsSync(join(WORKSPACE_ROOT, `apps/${app}/src/migrate.ts`))).toBe(true);
      expect(compose.services[app].depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
      expect(compose.services[app].secrets).not.toContain('migrator_mysql_url');
    }
    expect(JSON.parse(read('package.json')).scripts.migrate).toMatch(/migrate/);
  });

  it('ships the SQL that makes each service a user without DDL on its own schema, and the migrator one with', () => {
    const sql = read('deploy/mysql-users.sql');
    const byUser = grants(sql);
    const databases = SERVICES.map((app) => String(compose.services[app].environment?.DB_NAME));
    for (const database of databases) {
      expect(sql).toMatch(new RegExp(`CREATE DATABASE IF NOT EXISTS \`${database}\``));
      const own = [...byUser].filter(([user]) => user !== 'groups_sync_migrator' && byUser.get(user)!.has(database));
      expect(own).toHaveLength(1); // one user per service, and only it
      expect(own[0][1]).toEqual(new Map([[database, ['DELETE', 'INSERT', 'SELECT', 'UPDATE']]]));
      expect(byUser.get('groups_sync_migrator')?.get(database)).toEqual(
        expect.arrayContaining([
          'ALTER',
          'CREATE',
          'DROP',
          'INDEX',
          'REFERENCES',
          'SELECT',
          'INSERT',
          'UPDATE',
          'DELETE',
        ]),
      );
    }
    expect([...byUser.values()].flatMap((m) => [...m.keys()]).filter((d) => !databases.includes(d))).toEqual([]); // nothing on *.*
    expect(sql).not.toMatch(/ALL PRIVILEGES|WITH GRANT OPTION|SUPER/i);
  });

  it('builds from a base image pinned by full version and digest, and runs it as a non-root user', () => {
    const dockerfile = read('Dockerfile');
    const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map(([, image]) => image);
    expect(bases.length).toBeGreaterThan(0);
    for (const image of bases) expect(image).toMatch(/^node:\d+\.\d+(\.\d+)?-bookworm-slim@sha256:[0-9a-f]{64}$/);
    expect(
      dockerfile
        .trim()
        .split('\n')
        .filter((l) => /^USER\s/.test(l))
        .pop(),
    ).toMatch(/^USER\s+(node|[1-9]\d*)/);
  });

  it('keeps secrets, env files, caches, node_modules and git out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(
      expect.arrayContaining([
        'deploy/secrets',
        '.env*',
        '**/.env*',
        '*.env',
        '**/*.env',
        '.cache',
        'node_modules',
        '.git',
      ]),
    );
  });

  it('holds no secret value: secrets are files the operator provides, settings come from the env file', () => {
    for (const [name, service] of services) {
      expect(service.env_file).toEqual(name === 'migrate' ? undefined : ['production.env']);
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (SECRET_NAME.test(key) || (/_URL$/.test(key) && /^mysql:/.test(String(value))))
          throw new Error(`${key} is given as a literal; give ${key}_FILE`);
        expect(String(value)).not.toMatch(CREDENTIALS_IN_URL);
      }
    }
    for (const secret of Object.values(compose.secrets ?? {}))
      expect(secret).toEqual({ file: expect.stringMatching(/^\.\/secrets\/[a-z_]+$/) });
    expect(text).not.toMatch(CREDENTIALS_IN_URL);
    expect(text).not.toContain('groups-sync-secret');
  });

  it('ships an example env file without secrets, asking for SASL_SSL, 3 replicas and 2 in sync', () => {
    expect(Object.keys(example).filter((k) => SECRET_NAME.test(k))).toEqual([]);
    for (const value of Object.values(example)) expect(value).not.toMatch(CREDENTIALS_IN_URL);
    expect(example).toMatchObject({
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_TOPIC_REPLICATION_FACTOR: '3',
      KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '2',
    });
    // The LMS's asymmetric keys as its JWT_PUBLIC_SIGNING_JWK_SET; its HS256 secret is a secret file (jwt_issuers).
    expect(JSON.parse(example.JWT_PUBLIC_SIGNING_JWK_SET)).toMatchObject({
      keys: [expect.objectContaining({ kty: 'RSA' })],
    });
    expect(example.SERVICE_USERS).toBeTruthy();
  });
});
