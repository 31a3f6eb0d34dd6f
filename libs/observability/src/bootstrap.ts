import { INestApplication, Logger as NestLogger, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { DomainExceptionFilter } from './domain-exception.filter';

export interface BootstrapOptions {
  title: string;
  port: number;
  /** Serve an OpenAPI document at /api/docs (and /api/docs-json). */
  openApi?: boolean;
  host: string;
  /** Largest JSON body accepted (bulk member writes); Express's default is 100 kB. */
  jsonBodyLimit?: string;
  /** Runs once the app is configured, before it listens (e.g. starting the event consumers). */
  beforeListen?: (app: INestApplication) => Promise<void>;
}

/** Body limits, strict validation and the one error body: shared by the services and their in-process tests. */
export function configureHttp(app: INestApplication, options: Pick<BootstrapOptions, 'jsonBodyLimit'> = {}): void {
  if (options.jsonBodyLimit) (app as NestExpressApplication).useBodyParser('json', { limit: options.jsonBodyLimit });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new DomainExceptionFilter());
}

/** Common start-up: pino logger, strict validation, OpenAPI, graceful shutdown on SIGTERM/SIGINT. */
export async function bootstrapService(module: unknown, options: BootstrapOptions): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(module as never, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  configureHttp(app, options);
  app.enableShutdownHooks();
  if (options.openApi) {
    const document = SwaggerModule.createDocument(app, new DocumentBuilder().setTitle(options.title).setVersion('1').addBearerAuth().build());
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
  }
  await options.beforeListen?.(app);
  await app.listen(options.port, options.host);
  new NestLogger('Bootstrap').log(`${options.title} listening on http://${options.host}:${options.port}`);
  return app;
}
