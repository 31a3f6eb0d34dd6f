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
}

/** Common start-up: pino logger, strict validation, OpenAPI, graceful shutdown on SIGTERM/SIGINT. */
export async function bootstrapService(module: unknown, options: BootstrapOptions): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(module as never, { bufferLogs: true });
  if (options.jsonBodyLimit) app.useBodyParser('json', { limit: options.jsonBodyLimit });
  app.useLogger(app.get(Logger));
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new DomainExceptionFilter());
  app.enableShutdownHooks();
  if (options.openApi) {
    const document = SwaggerModule.createDocument(app, new DocumentBuilder().setTitle(options.title).setVersion('1').addBearerAuth().build());
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
  }
  await app.listen(options.port, options.host);
  new NestLogger('Bootstrap').log(`${options.title} listening on http://${options.host}:${options.port}`);
  return app;
}
