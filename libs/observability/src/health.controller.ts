import { Controller, Get, Injectable, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Response } from 'express';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorFunction, HealthIndicatorResult, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';

export type ReadinessCheck = () => Promise<{ up: boolean; details?: Record<string, unknown> }>;

/**
 * Which probe a check belongs to. `ready`: the instance can serve its API (MySQL, and any check
 * registered so). `consumers`: its Kafka side (broker, consumers, outbox relay), reported apart,
 * because the API keeps serving while Kafka is down: the outbox holds the changes.
 */
export type HealthProbe = 'ready' | 'consumers';

/** Modules register their checks with the probe they belong to (MessagingModule: the Kafka side). */
@Injectable()
export class ReadinessChecks {
  readonly checks = new Map<string, { probe: HealthProbe; check: ReadinessCheck }>();

  add(name: string, check: ReadinessCheck, probe: HealthProbe = 'ready'): void {
    this.checks.set(name, { probe, check });
  }

  of(probe: HealthProbe): Array<[string, ReadinessCheck]> {
    return [...this.checks].filter(([, c]) => c.probe === probe).map(([name, c]) => [name, c.check]);
  }
}

@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicator: HealthIndicatorService,
    private readonly readiness: ReadinessChecks,
  ) {}

  /** The process is alive and serving HTTP. */
  @Get('live')
  @HealthCheck()
  live(@Res({ passthrough: true }) res: Response) {
    return this.probe(res, []);
  }

  /** Ready to serve the API: MySQL answers (and every `ready` check passes); 503 otherwise. Kafka is not asked. */
  @Get('ready')
  @HealthCheck()
  ready(@Res({ passthrough: true }) res: Response) {
    return this.probe(res, [() => this.db.pingCheck('mysql', { timeout: 2000 }), ...this.indicators('ready')]);
  }

  /** The Kafka side: the broker answers, every consumer has joined its group, the outbox relay publishes; 503 otherwise. */
  @Get('consumers')
  @HealthCheck()
  consumers(@Res({ passthrough: true }) res: Response) {
    return this.probe(res, this.indicators('consumers'));
  }

  /** Terminus's body either way: a 503 answers which check is down and why, not the API's error body. */
  private async probe(res: Response, indicators: HealthIndicatorFunction[]): Promise<HealthCheckResult> {
    try {
      return await this.health.check(indicators);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      res.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }

  private indicators(probe: HealthProbe) {
    return this.readiness.of(probe).map(([name, check]) => async (): Promise<HealthIndicatorResult> => {
      const session = this.indicator.check(name);
      try {
        const { up, details } = await check();
        return up ? session.up(details) : session.down(details);
      } catch (error) {
        return session.down({ error: (error as Error).message });
      }
    });
  }
}
