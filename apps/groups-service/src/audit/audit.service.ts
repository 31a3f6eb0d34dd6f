import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditEvent } from './audit-event.entity';

@Injectable()
export class AuditService {
  constructor(private readonly dataSource: DataSource) {}

  /** A group's history, newest first. */
  async history(
    groupId: string,
    offset: number,
    limit: number,
    filters: { userId?: number; action?: string } = {},
  ): Promise<{ count: number; events: AuditEvent[] }> {
    const [events, count] = await this.dataSource.getRepository(AuditEvent).findAndCount({
      where: {
        groupId,
        ...(filters.userId !== undefined ? { userId: filters.userId } : {}),
        ...(filters.action ? { action: filters.action } : {}),
      },
      order: { id: 'DESC' },
      skip: offset,
      take: limit,
    });
    return { count, events };
  }
}

export function auditView(e: AuditEvent) {
  return {
    id: Number(e.id),
    action: e.action,
    user_id: e.userId === null ? null : Number(e.userId),
    actor: e.actor,
    trigger: e.trigger,
    automated: e.trigger !== 'user',
    correlation_id: e.correlationId,
    details: e.details ?? {},
    at: e.at,
  };
}
