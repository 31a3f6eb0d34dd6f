import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { AuthenticatedRequest } from './jwt-auth.guard';
import { Principal } from './principal';

/** The caller JwtAuthGuard authenticated. On a route without the guard it fails (500) rather than act as nobody. */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new Error('@CurrentPrincipal() used on a route that JwtAuthGuard does not protect');
  return principal;
});
