import { MembershipOrigin } from '@groups-sync/contracts';
import { AuditTrigger } from './audit-event.entity';

/** Who or what caused a change; carried into the audit row and the outbox event. */
export interface ChangeContext {
  actor: string | null;
  trigger: AuditTrigger;
  origin: MembershipOrigin;
  at: Date;
  correlationId?: string | null;
  causationId?: string | null;
  /** A bulk change (a refresh): its membership events are packed into few outbox rows. */
  packEvents?: boolean;
}
