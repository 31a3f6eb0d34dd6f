import { INestApplication, Logger as NestLogger, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Express, json, RequestHandler } from 'express';
import { Logger } from 'nestjs-pino';
import { DomainExceptionFilter } from './domain-exception.filter';
import { OperationsServer } from './operations-server';

export interface BootstrapOptions {
  title: string;
  port: number;
  /** OPS_PORT: /metrics and the detailed probes (OperationsServer), on `host` too. */
  opsPort: number;
  /** Serve an OpenAPI document at /api/docs (and /api/docs-json). */
  openApi?: boolean;
  host: string;
  /**
   * Origins of pages on other hosts that call the API with cookies (CORS_ORIGINS): allowed with
   * credentials and the headers the User Groups page sends; none when empty.
   */
  corsOrigins?: string;
  /** Largest JSON body on most routes; Express's default, 100 kB, when unset. */
  jsonBodyLimit?: string;
  /**
   * A larger limit for the few routes that need one (`'POST /api/x/:id/items'`, Express paths). Bodies
   * are read before any guard runs, so keep this to those routes, and give `authenticate`: a
   * middleware that refuses a caller without a valid token before their large body is read.
   */
  largeJsonBodies?: { limit: string; routes: string[]; authenticate?: (app: INestApplication) => RequestHandler };
  /** Runs once the app is configured, before it listens (e.g. starting the event consumers). */
  beforeListen?: (app: INestApplication) => Promise<void>;
}

/** Body limits, strict validation and the one error body: shared by the services and their in-process tests. */
export function configureHttp(
  app: INestApplication,
  options: Pick<BootstrapOptions, 'jsonBodyLimit' | 'largeJsonBodies' | 'corsOrigins'> = {},
): void {
  const express = app.getHttpAdapter().getInstance() as Express;
  const origins = (options.corsOrigins ?? '').split(',').filter(Boolean);
  if (origins.length)
    app.enableCors({
      origin: origins,
      credentials: true,
      allowedHeaders: [
        'authorization',
        'content-type',
        'if-match',
        'use-jwt-cookie',
        'x-csrftoken',
        'x-correlation-id',
      ],
      exposedHeaders: ['etag', 'x-correlation-id'],
      maxAge: 600,
    });
  // Registered first: a body one of these read is not read again by the default parser.
  for (const route of options.largeJsonBodies?.routes ?? []) {
    const [method, path] = route.split(' ');
    const authenticate = options.largeJsonBodies!.authenticate?.(app);
    express[method.toLowerCase() as 'post'](
      path,
      ...(authenticate ? [authenticate] : []),
      json({ limit: options.largeJsonBodies!.limit }),
    );
  }
  // Answers are per caller and change without their ETag (a group's ETag is its version, for
  // If-Match, while its link and member count move on): no cache keeps one, so none revalidates
  // into a 304 that would show a browser the old answer.
  express.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  (app as NestExpressApplication).useBodyParser('json', { limit: options.jsonBodyLimit ?? '100kb' });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new DomainExceptionFilter());
}

/**
 * Common start-up: pino logger, strict validation, OpenAPI, graceful shutdown on SIGTERM/SIGINT.
 * A service that cannot start exits (1), so its orchestrator restarts it: nothing half-started
 * stays up (unhandled rejections no longer end the process, see below).
 */
export async function bootstrapService(module: unknown, options: BootstrapOptions): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(module as never, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  keepRunningOnUnhandledRejection();
  try {
    configureHttp(app, options);
    app.enableShutdownHooks();
    if (options.openApi) {
      const document = SwaggerModule.createDocument(
        app,
        new DocumentBuilder().setTitle(options.title).setVersion('1').addBearerAuth().build(),
      );
      SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
    }
    await options.beforeListen?.(app);
    await app.listen(options.port, options.host);
    // After the API: the operations port's ready probe must not say ready before the API listens.
    await app.get(OperationsServer).listen(options.opsPort, options.host);
  } catch (error) {
    new NestLogger('Bootstrap').error(
      `${options.title} did not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exit(1);
  }
  new NestLogger('Bootstrap').log(
    `${options.title} listening on http://${options.host}:${options.port} (operations: ${options.opsPort})`,
  );
  return app;
}

/**
 * Last resort: background work catches its own errors; one that slips through is logged, and does
 * not stop the process (Node's default), which would drop every consumer and run in flight.
 */
export function keepRunningOnUnhandledRejection(): void {
  if (process.listenerCount('unhandledRejection')) return;
  const logger = new NestLogger('UnhandledRejection');
  process.on('unhandledRejection', (reason) =>
    logger.error(
      `unhandled rejection, kept running: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`,
    ),
  );
}
