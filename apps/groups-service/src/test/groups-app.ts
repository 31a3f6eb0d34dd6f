import { INestApplication, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { DomainExceptionFilter } from '@groups-sync/observability';
import { dropDatabase } from '@groups-sync/persistence';
import { stackEnv, uniqueSuffix } from '@groups-sync/testing';

/**
 * groups-service in this process on the real database and broker, with a test database and topic
 * prefix of its own. Config is read when app.module loads, so the environment is set first.
 */
export async function startGroupsApp(): Promise<{ app: INestApplication; dataSource: DataSource; stop: () => Promise<void> }> {
  const suffix = uniqueSuffix();
  const database = `groups_it_${suffix}_test`;
  Object.assign(process.env, stackEnv(), { DB_NAME: database, EVENT_BUS_TOPIC_PREFIX: `it-${suffix}`, LOG_LEVEL: 'warn' });
  const { AppModule } = await import('../app.module');
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new DomainExceptionFilter());
  await app.init();
  const dataSource = app.get(DataSource);
  return {
    app,
    dataSource,
    stop: async () => {
      await app.close();
      await dropDatabase(stackEnv().MYSQL_URL, database);
    },
  };
}
