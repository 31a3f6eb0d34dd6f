import { Request } from 'express';
import { ChangeContext } from './change-context';

/** A change made through the API. The actor comes from the JWT once authentication lands. */
export function apiContext(req: Request): ChangeContext {
  return { actor: null, trigger: 'user', origin: 'api', at: new Date(), correlationId: String((req as { id?: unknown }).id ?? '') || null };
}
