import { Controller, Get, Injectable, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Response } from 'express';
import {
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorResult,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';

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

export type HealthProbeName = 'live' | HealthProbe;

/** Runs a probe's checks: Terminus's body with every check's details, and the status it answers with. */
@Injectable()
export class HealthProbes {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicator: HealthIndicatorService,
    private readonly readiness: ReadinessChecks,
  ) {}

  /**
   * `live`: the process serves HTTP. `ready`: MySQL answers (and every `ready` check passes); Kafka
   * is not asked. `consumers`: the Kafka side (broker, consumers joined, outbox relay). 503 when down.
   */
  async check(probe: HealthProbeName): Promise<{ status: number; body: HealthCheckResult }> {
    const indicators =
      probe === 'live'
        ? []
        : probe === 'ready'
          ? [() => this.db.pingCheck('mysql', { timeout: 2000 }), ...this.indicators('ready')]
          : this.indicators('consumers');
    try {
      return { status: 200, body: await this.health.check(indicators) };
    } catch (error) {
      // Terminus's body either way: a 503 says which check is down and why.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      return { status: 503, body: error.getResponse() as HealthCheckResult };
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

/**
 * The load balancer's probes on the API port: a status, no details (hosts and errors are for the
 * operations port, OperationsServer, with /health/consumers and /metrics).
 */
@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(private readonly probes: HealthProbes) {}

  @Get('live')
  live(@Res({ passthrough: true }) res: Response) {
    return this.answer(res, 'live');
  }

  @Get('ready')
  ready(@Res({ passthrough: true }) res: Response) {
    return this.answer(res, 'ready');
  }

  private async answer(res: Response, probe: HealthProbeName): Promise<{ status: string }> {
    const { status, body } = await this.probes.check(probe);
    res.status(status);
    return { status: body.status };
  }
}
