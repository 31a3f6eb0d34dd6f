import { Controller, Get, Injectable } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorResult, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';

export type ReadinessCheck = () => Promise<{ up: boolean; details?: Record<string, unknown> }>;

/** Modules register what "ready" means for them (Kafka consumers joined, relay healthy...). */
@Injectable()
export class ReadinessChecks {
  readonly checks = new Map<string, ReadinessCheck>();
  add(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
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
  live() {
    return this.health.check([]);
  }

  /** MySQL answers and every registered check passes; 503 otherwise. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.db.pingCheck('mysql', { timeout: 2000 }),
      ...[...this.readiness.checks].map(([name, check]) => async (): Promise<HealthIndicatorResult> => {
        const session = this.indicator.check(name);
        try {
          const { up, details } = await check();
          return up ? session.up(details) : session.down(details);
        } catch (error) {
          return session.down({ error: (error as Error).message });
        }
      }),
    ]);
  }
}
