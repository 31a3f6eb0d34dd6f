import { INestApplication, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { DomainExceptionFilter } from '@groups-sync/observability';
import { dropDatabase } from '@groups-sync/persistence';
import { stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { globalStaffClaims } from '../auth/testing/lms-claims';
import { TokenMinter } from '../auth/testing/token-minter';

/**
 * groups-service in this process on the real database and broker, with a test database and topic
 * prefix of its own. Config is read when app.module loads, so the environment is set first.
 */
export async function startGroupsApp(): Promise<{ app: INestApplication; dataSource: DataSource; minter: TokenMinter; staffToken: string; stop: () => Promise<void> }> {
  const suffix = uniqueSuffix();
  const database = `groups_it_${suffix}_test`;
  const minter = await TokenMinter.create();
  Object.assign(process.env, stackEnv(), {
    DB_NAME: database, EVENT_BUS_TOPIC_PREFIX: `it-${suffix}`, LOG_LEVEL: 'warn',
    JWT_PUBLIC_KEY: minter.publicKeyPem, JWT_ISSUER: minter.issuer, JWT_AUDIENCE: minter.audience,
  });
  const { AppModule } = await import('../app.module');
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new DomainExceptionFilter());
  await app.init();
  const dataSource = app.get(DataSource);
  return {
    app,
    dataSource,
    minter,
    staffToken: await minter.mint(globalStaffClaims()),
    stop: async () => {
      await app.close();
      await dropDatabase(stackEnv().MYSQL_URL, database);
    },
  };
}
