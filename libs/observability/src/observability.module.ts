import { DynamicModule, Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { randomUUID } from 'node:crypto';
import { LoggerModule } from 'nestjs-pino';
import { collectDefaultMetrics, register } from 'prom-client';
import { HealthController, HealthProbes, ReadinessChecks } from './health.controller';
import { OperationsServer } from './operations-server';

export interface ObservabilityOptions {
  service: string;
  logLevel: string;
}

export const CORRELATION_HEADER = 'x-correlation-id';
/** A caller's correlation id is kept if it fits where it is stored (64 characters) and logs safely; else the request gets its own. */
const CORRELATION_ID = /^[\x21-\x7e]{1,64}$/;

/** Structured JSON logs with correlation ids, Prometheus metrics, liveness and readiness (details and metrics on OperationsServer's port). */
@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(options: ObservabilityOptions): DynamicModule {
    if (!register.getSingleMetric('process_cpu_user_seconds_total')) {
      register.setDefaultLabels({ service: options.service });
      collectDefaultMetrics();
    }
    return {
      module: ObservabilityModule,
      imports: [
        TerminusModule.forRoot({ logger: false }),
        LoggerModule.forRoot({
          pinoHttp: {
            level: options.logLevel,
            base: { service: options.service },
            genReqId: (req, res) => {
              const given = req.headers[CORRELATION_HEADER];
              const id = typeof given === 'string' && CORRELATION_ID.test(given) ? given : randomUUID();
              res.setHeader(CORRELATION_HEADER, id);
              return id;
            },
            customProps: (req) => ({ correlationId: req.id }),
            // No PII at info level: bodies and auth headers are never logged.
            serializers: { req: (req) => ({ id: req.id, method: req.method, url: req.url }) },
            autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
          },
        }),
      ],
      controllers: [HealthController],
      providers: [ReadinessChecks, HealthProbes, OperationsServer],
      exports: [ReadinessChecks, OperationsServer],
    };
  }
}
