import { Request } from 'express';
import { Principal } from '@groups-sync/auth';
import { ChangeContext } from './change-context';

/** A change made through the API, by the authenticated caller. */
export function apiContext(req: Request, principal: Principal): ChangeContext {
  const actor = principal.username ?? (principal.userId !== null ? `user:${principal.userId}` : 'service');
  return {
    actor,
    trigger: 'user',
    origin: 'api',
    at: new Date(),
    correlationId: String((req as { id?: unknown }).id ?? '') || null,
  };
}
