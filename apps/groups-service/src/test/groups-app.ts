import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { createKafka, deleteTopicsWithPrefix, startEventConsumers } from '@groups-sync/messaging';
import { configureHttp } from '@groups-sync/observability';
import { dropDatabase } from '@groups-sync/persistence';
import { http, ServiceProcess, stackEnv, testPort, uniqueSuffix } from '@groups-sync/testing';
import { courseRolesFromClaims, TokenMinter, globalStaffClaims } from '@groups-sync/auth/testing';

export interface LmsUser {
  user_id: number;
  username: string;
  email: string;
}

export interface GroupsApp {
  app: INestApplication;
  dataSource: DataSource;
  minter: TokenMinter;
  staffToken: string;
  /** Accounts in the LMS (its emulator), which the user directory resolves. */
  lmsUsers: (usernames: string[]) => Promise<LmsUser[]>;
  lms: ServiceProcess;
  /** The emulator's database (the LMS's tables), for a test's own queries or LMS_DB_URL. */
  lmsDatabaseUrl: string;
  /** This app's EVENT_BUS_TOPIC_PREFIX. */
  topicPrefix: string;
  stop: () => Promise<void>;
}

/**
 * groups-service in this process on the real database and broker, with a test database and topic
 * prefix of its own, and the LMS emulator as a process beside it for the user directory. Config is
 * read when app.module loads, so the environment is set first; `env` overrides it (another LMS, a setting).
 */
export async function startGroupsApp(
  portOffset = 0,
  env: Record<string, string> | ((lms: { databaseUrl: string }) => Record<string, string>) = {},
): Promise<GroupsApp> {
  const suffix = uniqueSuffix();
  const database = `groups_it_${suffix}_test`;
  const lmsDatabase = `lms_it_${suffix}_test`;
  const minter = await TokenMinter.create();
  const lms = new ServiceProcess(
    'lms-emulator',
    testPort(portOffset),
    { ...stackEnv(), DB_NAME: lmsDatabase, EVENT_BUS_TOPIC_PREFIX: `it-${suffix}`, LOG_LEVEL: 'warn' },
    `it-${suffix}-lms-emulator`,
  );
  await lms.start();
  const lmsDatabaseUrl = `${stackEnv().MYSQL_URL.replace(/\/$/, '')}/${lmsDatabase}`;
  Object.assign(process.env, stackEnv(), {
    DB_NAME: database,
    EVENT_BUS_TOPIC_PREFIX: `it-${suffix}`,
    LOG_LEVEL: 'warn',
    LMS_BASE_URL: lms.url,
    JWT_PUBLIC_KEY: minter.publicKeyPem,
    JWT_ISSUER: minter.issuer,
    JWT_AUDIENCE: minter.audience,
    ...(typeof env === 'function' ? env({ databaseUrl: lmsDatabaseUrl }) : env),
  });
  const { AppModule, HTTP_OPTIONS } = await import('../app.module');
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  configureHttp(app, HTTP_OPTIONS);
  // The minter's tokens carry their course roles; the LMS path has tests of its own.
  courseRolesFromClaims(app);
  await app.init();
  await startEventConsumers(app);
  const dataSource = app.get(DataSource);
  return {
    app,
    dataSource,
    minter,
    staffToken: await minter.mint(globalStaffClaims()),
    lms,
    topicPrefix: `it-${suffix}`,
    lmsDatabaseUrl,
    lmsUsers: async (usernames) => {
      const res = await http('POST', `${lms.url}/emulator/users`, {
        users: usernames.map((username) => ({ username })),
      });
      if (res.status !== 201) throw new Error(`emulator users: ${res.status} ${JSON.stringify(res.body)}`);
      const byName = new Map(
        (res.body.users as Array<{ id: number; username: string; email: string }>).map((u) => [u.username, u]),
      );
      return usernames.map((name) => {
        const u = byName.get(name)!;
        return { user_id: Number(u.id), username: u.username, email: u.email };
      });
    },
    stop: async () => {
      await app.close();
      await lms.stop();
      await dropDatabase(stackEnv().MYSQL_URL, database);
      await dropDatabase(stackEnv().MYSQL_URL, lmsDatabase);
      await deleteTopicsWithPrefix(
        createKafka({ clientId: 'it-cleanup', brokers: stackEnv().KAFKA_BROKERS.split(',') }),
        `it-${suffix}-`,
      ).catch(() => undefined);
    },
  };
}
