import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { WORKSPACE_ROOT } from './stack-env';
import {
  renderTutorPlugin as render,
  renderTutorPluginWithMfe,
  TUTOR_ENV_FILES,
  TutorService,
  tutorEnv,
} from './tutor-plugin';

/**
 * The Tutor plugin (deploy/tutor), rendered for a `local` and a `k8s` site (tutor-plugin.ts): its
 * compose services, Kubernetes manifests, init tasks, LMS patches and Caddy routes. Each app's
 * spec checks the plugin's settings against its own config class (describeTutorPluginService).
 * With TUTOR_PYTHONPATH set, Tutor itself renders, and its own output files are checked too.
 */

const yamlDocs = (text: string) =>
  parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter(Boolean) as Array<Record<string, any>>;

describe('the Tutor plugin (deploy/tutor)', () => {
  const site = render();
  const plugin = join(WORKSPACE_ROOT, 'deploy/tutor/tutorgroupssync');

  it(`renders (${site.mode}) compose services for the three services, Kafka and the registry, in the image tutor builds`, () => {
    const services = parse(`services:\n${site.patches['local-docker-compose-services'].replace(/^/gm, '  ')}`)
      .services as Record<string, any>;
    expect(Object.keys(services).sort()).toEqual(
      [
        ...Object.keys(TUTOR_ENV_FILES).map((a) => `groups-sync-${a}`),
        'groups-sync-kafka',
        'groups-sync-schema-registry',
      ].sort(),
    );
    for (const [app, files] of Object.entries(TUTOR_ENV_FILES)) {
      const service = services[`groups-sync-${app}`];
      expect(service.image).toBe(site.config.GROUPS_SYNC_DOCKER_IMAGE);
      expect(service.environment).toEqual({ APP: app });
      expect(service.env_file).toEqual(files.map((f) => `../plugins/groups-sync/apps/config/${f}.env`));
      expect(service).toMatchObject({ user: '1000:1000', read_only: true, cap_drop: ['ALL'] });
      expect(service.depends_on).toEqual(
        expect.arrayContaining(['mysql', 'redis', 'groups-sync-kafka', 'groups-sync-schema-registry']),
      );
    }
    expect(existsSync(join(WORKSPACE_ROOT, 'apps/groups-service/src/main.ts'))).toBe(true);
    expect(site.dockerfile).toMatch(/^FROM docker\.io\/node:\d+\.\d+-bookworm-slim@sha256:[0-9a-f]{64}/m);
    expect(site.dockerfile).toContain(`ADD --keep-git-dir=false ${site.config.GROUPS_SYNC_REPOSITORY}#`);
    expect(site.dockerfile).toMatch(/^USER node$/m);
  });

  it.each(Object.keys(TUTOR_ENV_FILES) as TutorService[])(
    "gives %s the LMS's own keys to check its tokens with",
    (app) => {
      const env = tutorEnv(site, TUTOR_ENV_FILES[app]);
      if (app !== 'evaluator-service') {
        // The LMS's own tokens: HS256 with Tutor's JWT secret, RS512 with the public half of its key.
        expect(JSON.parse(env.JWT_ISSUERS)).toEqual([
          {
            ISSUER: site.config.JWT_COMMON_ISSUER,
            AUDIENCE: site.config.JWT_COMMON_AUDIENCE,
            SECRET_KEY: site.config.JWT_COMMON_SECRET_KEY,
          },
        ]);
        expect(JSON.parse(env.JWT_PUBLIC_SIGNING_JWK_SET).keys).toEqual([
          expect.objectContaining({ kid: 'openedx', kty: 'RSA', e: 'AQAB', n: expect.stringMatching(/^[\w-]{300,}$/) }),
        ]);
      }
    },
  );

  it('reads the LMS events from the Redis and prefix Tutor configures for the LMS', () => {
    const env = tutorEnv(site, ['common']);
    expect(env).toMatchObject({
      LMS_EVENT_BUS: 'redis',
      EVENT_BUS_REDIS_CONNECTION_URL: 'redis://@redis:6379/',
      EVENT_BUS_TOPIC_PREFIX: 'dev', // tutor/templates/apps/openedx/settings/partials/common_all.py
    });
  });

  it('renders Kubernetes Deployments, Services, the job and the volume that parse and agree with each other', () => {
    const deployments = yamlDocs(site.patches['k8s-deployments']);
    const services = yamlDocs(site.patches['k8s-services']);
    const generators = parse(site.patches['kustomization-configmapgenerator']) as Array<{
      name: string;
      envs: string[];
    }>;
    for (const [app, files] of Object.entries(TUTOR_ENV_FILES)) {
      const deployment = deployments.find((d) => d.metadata.name === `groups-sync-${app}`)!;
      expect(deployment.kind).toBe('Deployment');
      const [container] = deployment.spec.template.spec.containers;
      const configMap = container.envFrom[0].configMapRef.name;
      expect(generators.find((g) => g.name === configMap)?.envs).toEqual(
        files.map((f) => `plugins/groups-sync/apps/config/${f}.env`),
      );
      const port = Number(tutorEnv(site, files).PORT);
      expect(container.ports).toEqual([{ containerPort: port }]);
      expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port });
      expect(container.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      });
      const service = services.find((s) => s.metadata.name === `groups-sync-${app}`)!;
      expect(service.spec.ports[0].port).toBe(port);
      expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    }
    // The hosts the services reach each other and Kafka by are the Services' names.
    const names = services.map((s) => s.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['groups-sync-kafka', 'groups-sync-schema-registry']));
    expect(tutorEnv(site, ['legacy-sync-service']).GROUPS_SERVICE_URL).toBe('http://groups-sync-groups-service:3001');
    const [job] = yamlDocs(site.patches['k8s-jobs']);
    expect(job).toMatchObject({ kind: 'Job', metadata: { name: 'groups-sync-job' } });
    expect(job.spec.template.spec.containers[0].name).toBe('groups-sync'); // `tutor k8s do init` runs <service>-job
    expect(generators.map((g) => g.name)).toContain(job.spec.template.spec.containers[0].envFrom[0].configMapRef.name);
    expect(yamlDocs(site.patches['k8s-volumes']).map((v) => v.metadata.name)).toEqual(['groups-sync-kafka']);
  });

  it('runs no Kafka or registry of its own where the site has a Kafka', () => {
    const external = render(
      'GROUPS_SYNC_RUN_KAFKA=false',
      'GROUPS_SYNC_KAFKA_BROKERS=kafka-1.example.com:9092',
      'GROUPS_SYNC_SCHEMA_REGISTRY_URL=https://registry.example.com',
    );
    const services = parse(`services:\n${external.patches['local-docker-compose-services'].replace(/^/gm, '  ')}`)
      .services as Record<string, { depends_on: string[] }>;
    expect(Object.keys(services).filter((s) => /kafka|registry/.test(s))).toEqual([]);
    expect(services['groups-sync-groups-service'].depends_on).toEqual(['mysql', 'redis']);
    expect(yamlDocs(external.patches['k8s-deployments']).map((d) => d.metadata.name)).not.toContain(
      'groups-sync-kafka',
    );
    expect(tutorEnv(external, ['common']).KAFKA_BROKERS).toBe('kafka-1.example.com:9092');
  });

  it('creates a schema and a user without DDL per service, the migrator, and a read-only LMS user (mysql init task)', () => {
    const [, mysql] = site.tasks.find(([service]) => service === 'mysql')!;
    for (const [app, files] of Object.entries(TUTOR_ENV_FILES)) {
      const env = tutorEnv(site, files);
      const user = /^mysql:\/\/([^:]+):([^@]+)@/.exec(env.MYSQL_URL)!;
      expect({ app, created: mysql.includes(`CREATE DATABASE IF NOT EXISTS \\\`${env.DB_NAME}\\\``) }).toEqual({
        app,
        created: true,
      });
      expect(mysql).toContain(`ALTER USER '${user[1]}'@'%' IDENTIFIED BY '${user[2]}';`);
      expect(mysql).toContain(`GRANT SELECT, INSERT, UPDATE, DELETE ON \\\`${env.DB_NAME}\\\`.* TO '${user[1]}'@'%';`);
    }
    expect(mysql).not.toMatch(/ALL PRIVILEGES|ON \*\.\*|WITH GRANT OPTION/);
    const reader = /^mysql:\/\/([^:]+):([^@]+)@[^/]+\/(\w+)$/.exec(tutorEnv(site, ['common']).LMS_DB_URL)!;
    expect(mysql).toContain(`ALTER USER '${reader[1]}'@'%' IDENTIFIED BY '${reader[2]}';`);
    const readerGrants = mysql.match(new RegExp(`GRANT [^;]+ TO '${reader[1]}'`, 'g')) ?? [];
    expect(readerGrants.length).toBeGreaterThan(5);
    const onlyLmsTables = `GRANT SELECT ON \\\`${reader[3]}\\\`.`;
    for (const grant of readerGrants) expect(grant.startsWith(onlyLmsTables)).toBe(true);
  });

  it("creates each service's OAuth2 application and their staff user in the LMS, with the ids and secrets they use", () => {
    const [, lms] = site.tasks.find(([service]) => service === 'lms')!;
    expect(lms).toContain(`manage_user ${site.config.GROUPS_SYNC_SERVICE_USER} `);
    expect(lms).toMatch(/--staff/);
    for (const app of ['groups-service', 'legacy-sync-service'] as const) {
      const env = tutorEnv(site, TUTOR_ENV_FILES[app]);
      expect(lms).toContain(`--client-id "${env.LMS_OAUTH_CLIENT_ID}"`);
      expect(lms).toContain(`--client-secret "${env.LMS_OAUTH_CLIENT_SECRET}"`);
      expect(env.SERVICE_USERS).toBe(`${site.config.GROUPS_SYNC_SERVICE_USER}:write`);
    }
    expect(lms.match(/--grant-type client-credentials/g)).toHaveLength(2);
  });

  it("migrates the three schemas in the plugin's image as the migrator (groups-sync init task)", () => {
    const [, job] = site.tasks.find(([service]) => service === 'groups-sync')!;
    const jobService = parse(site.patches['local-docker-compose-jobs-services'])['groups-sync-job'];
    expect(jobService).toMatchObject({
      image: site.config.GROUPS_SYNC_DOCKER_IMAGE,
      env_file: ['../plugins/groups-sync/apps/config/migrator.env'],
    });
    expect(tutorEnv(site, ['migrator']).MYSQL_URL).toMatch(
      new RegExp(`^mysql://${site.config.GROUPS_SYNC_MIGRATOR_MYSQL_USERNAME}:[^@]+@`),
    );
    for (const [app, files] of Object.entries(TUTOR_ENV_FILES)) {
      expect(job).toContain(
        `DB_NAME=${tutorEnv(site, files).DB_NAME} node -r ./tools/register-paths.js dist/apps/${app}/src/migrate.js`,
      );
      expect(existsSync(join(WORKSPACE_ROOT, `apps/${app}/src/migrate.ts`))).toBe(true);
    }
  });

  it("patches the LMS's settings with deploy/openedx/lms_settings.py, unchanged", () => {
    expect(site.patches['openedx-lms-common-settings'].trim()).toBe(
      readFileSync(join(WORKSPACE_ROOT, 'deploy/openedx/lms_settings.py'), 'utf8').trim(),
    );
  });

  it("installs the LMS companion plugin into the openedx image and points it at each service's /retire as their worker", () => {
    expect(site.patches['openedx-dockerfile-post-python-requirements']).toContain(
      `$PIP_COMMAND install "openedx-groups-sync-lms @ git+${site.config.GROUPS_SYNC_REPOSITORY}@`,
    );
    expect(site.patches['openedx-dockerfile-post-python-requirements']).toContain(
      '#subdirectory=deploy/openedx-plugin"',
    );
    expect(readFileSync(join(WORKSPACE_ROOT, 'deploy/openedx-plugin/pyproject.toml'), 'utf8')).toMatch(
      /\[project\.entry-points\."lms\.djangoapp"\]\nopenedx_groups_sync = "openedx_groups_sync\.apps:GroupsSyncConfig"/,
    );
    const settings = site.patches['openedx-lms-production-settings'];
    for (const app of ['groups-service', 'legacy-sync-service'] as const) {
      const env = tutorEnv(site, TUTOR_ENV_FILES[app]);
      expect(settings).toContain(`RETIREMENT_SERVICE_WORKER_USERNAME = "${env.RETIREMENT_SERVICE_WORKER_USERNAME}"`);
      const api = app === 'groups-service' ? 'user-groups' : 'legacy-sync';
      expect(settings).toContain(`"http://groups-sync-${app}:${env.PORT}/api/${api}/v1/retire"`);
      expect(readFileSync(join(WORKSPACE_ROOT, `apps/${app}/src/retirement/retirement.controller.ts`), 'utf8')).toMatch(
        new RegExp(`@Controller\\('api/${api}/v1'\\)[\\s\\S]*@Post\\('retire'\\)`),
      );
    }
    const [, lms] = site.tasks.find(([service]) => service === 'lms')!;
    expect(lms).toContain(`manage_user ${site.config.GROUPS_SYNC_RETIREMENT_SERVICE_WORKER_USERNAME} `);
    expect(tutorEnv(site, ['legacy-sync-service']).LMS_EMITS_TEAM_EVENTS).toBe('true'); // the plugin sends them
  });

  it('leaves the LMS image and settings alone with GROUPS_SYNC_LMS_PLUGIN off, and expects no team events', () => {
    const bare = render('GROUPS_SYNC_LMS_PLUGIN=false');
    expect(bare.patches['openedx-dockerfile-post-python-requirements'].trim()).toBe('');
    expect(bare.patches['openedx-lms-production-settings'].trim()).toBe('');
    expect(tutorEnv(bare, ['legacy-sync-service']).LMS_EMITS_TEAM_EVENTS).toBe('false');
  });

  it('routes the APIs on GROUPS_SYNC_HOST through Caddy: legacy-sync by path, the rest to groups-service', () => {
    const caddy = site.patches.caddyfile;
    expect(caddy).toContain(`${site.config.GROUPS_SYNC_HOST}{$default_site_port} {`);
    expect(caddy).toMatch(/reverse_proxy \/api\/legacy-sync\/\* groups-sync-legacy-sync-service:3002/);
    expect(caddy).toContain('import proxy "groups-sync-groups-service:3001"');
    // And on the LMS's host, where its JWT cookies go: each API by its path.
    expect(site.patches['caddyfile-lms']).toMatch(
      /reverse_proxy \/api\/user-groups\/\* groups-sync-groups-service:3001/,
    );
    expect(site.patches['caddyfile-lms']).toMatch(
      /reverse_proxy \/api\/legacy-sync\/\* groups-sync-legacy-sync-service:3002/,
    );
  });

  it("registers the User Groups page with Tutor's MFE plugin, points it at the APIs and lets the services answer its origin", () => {
    const withPage = renderTutorPluginWithMfe();
    expect(withPage.mfe_apps).toEqual({
      'user-groups': {
        repository: withPage.config.GROUPS_SYNC_REPOSITORY,
        port: 2010,
        version: withPage.config.GROUPS_SYNC_REPOSITORY_VERSION,
      },
    });
    const lms = `http://${withPage.config.LMS_HOST}`;
    expect(withPage.patches['mfe-lms-common-settings']).toContain(
      `MFE_CONFIG_OVERRIDES.setdefault("user-groups", {}).update({`,
    );
    expect(withPage.patches['mfe-lms-common-settings']).toContain(`"USER_GROUPS_API_BASE_URL": "${lms}"`);
    expect(withPage.patches['mfe-lms-common-settings']).toContain(`"LEGACY_SYNC_API_BASE_URL": "${lms}"`);
    for (const app of ['groups-service', 'legacy-sync-service'] as const)
      expect(tutorEnv(withPage, TUTOR_ENV_FILES[app]).CORS_ORIGINS).toBe(`http://apps.${withPage.config.LMS_HOST}`);
    // Without tutor-mfe: no page, and no origin allowed.
    expect(site.mfe_apps ?? null).toBeNull();
    expect(tutorEnv(site, TUTOR_ENV_FILES['groups-service']).CORS_ORIGINS).toBeUndefined();
  });

  it('gives tutor-mfe what it builds an MFE with: `make pull_translations`, and `npm run build` into dist/ under /user-groups/', () => {
    expect(readFileSync(join(WORKSPACE_ROOT, 'Makefile'), 'utf8')).toMatch(/^pull_translations:/m);
    const pkg = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.build).toBe('nx run-many -t build');
    const project = JSON.parse(
      readFileSync(join(WORKSPACE_ROOT, 'apps/frontend-app-user-groups/project.json'), 'utf8'),
    );
    expect(project.targets.build.command).toContain('vite build');
    expect(readFileSync(join(WORKSPACE_ROOT, 'apps/frontend-app-user-groups/vite.config.mts'), 'utf8')).toContain(
      'env.USER_GROUPS_PAGE_OUT_DIR',
    );
    expect(site.patches['mfe-dockerfile-pre-npm-build-user-groups']).toContain(
      'USER_GROUPS_PAGE_OUT_DIR=/openedx/app/dist',
    );
    // tutor-mfe sets APP_ID to the MFE's name and PUBLIC_PATH to /<name>/: the page's own.
    const dotenv = readFileSync(join(WORKSPACE_ROOT, 'apps/frontend-app-user-groups/.env'), 'utf8');
    expect(dotenv).toContain("APP_ID='user-groups'");
    expect(dotenv).toContain("PUBLIC_PATH='/user-groups/'");
  });

  it('writes no secret into a template: every password and secret is a setting Tutor generates per site', () => {
    const texts = [
      ...readdirSync(join(plugin, 'patches')).map((f) => join(plugin, 'patches', f)),
      ...['apps/config', 'tasks/mysql', 'tasks/lms', 'tasks/groups-sync-job'].flatMap((dir) =>
        readdirSync(join(plugin, 'templates/groups-sync', dir)).map((f) =>
          join(plugin, 'templates/groups-sync', dir, f),
        ),
      ),
    ].map((file) => ({ file, text: readFileSync(file, 'utf8') }));
    const pluginSource = readFileSync(join(plugin, 'plugin.py'), 'utf8');
    const unique = pluginSource.slice(pluginSource.indexOf('"unique"'));
    for (const { file, text } of texts) {
      for (const [, name] of text.matchAll(/\{\{ (GROUPS_SYNC_\w*(PASSWORD|SECRET)) \}\}/g))
        expect({ file, name, generated: unique.includes(`"${name.replace('GROUPS_SYNC_', '')}"`) }).toEqual({
          file,
          name,
          generated: true,
        });
      expect({ file, literal: /(PASSWORD|SECRET)[^=\n]*=[^{\n$]/.test(text.replace(/#.*$/gm, '')) }).toEqual({
        file,
        literal: false,
      });
    }
  });

  if (site.mode === 'tutor') {
    it("renders into Tutor's own compose, jobs, Kubernetes, kustomization and Caddy files", () => {
      const compose = parse(site.files['local/docker-compose.yml']).services;
      expect(Object.keys(compose)).toEqual(
        expect.arrayContaining(Object.keys(TUTOR_ENV_FILES).map((a) => `groups-sync-${a}`)),
      );
      expect(Object.keys(parse(site.files['local/docker-compose.jobs.yml']).services)).toContain('groups-sync-job');
      for (const file of ['k8s/deployments.yml', 'k8s/services.yml', 'k8s/jobs.yml', 'k8s/volumes.yml'])
        expect(yamlDocs(site.files[file]).some((d) => d.metadata.name.startsWith('groups-sync-'))).toBe(true);
      expect(parse(site.files['kustomization.yml']).configMapGenerator.map((g: { name: string }) => g.name)).toContain(
        'groups-sync-groups-service-env',
      );
      expect(site.files['apps/caddy/Caddyfile']).toContain(site.patches.caddyfile.trim());
    });
  }
});
