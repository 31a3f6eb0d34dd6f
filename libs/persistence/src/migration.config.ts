import { IsIn, IsOptional, Matches } from 'class-validator';
import { DEPLOYMENT_ENVIRONMENTS, DevelopmentDefault, InProduction } from '@groups-sync/config';

/**
 * What a service's migrate entry (`apps/<service>/src/migrate.ts`, `npm run migrate`) reads: the
 * migrator's MySQL user, the one with DDL on the services' schemas; nothing else of the service.
 */
export class MigrationConfig {
  @IsIn(DEPLOYMENT_ENVIRONMENTS, { message: `must be one of ${DEPLOYMENT_ENVIRONMENTS.join(', ')}` })
  NODE_ENV: string = 'development';

  @DevelopmentDefault()
  @Matches(/^mysql:\/\/[^\s]+$/, { message: 'must look like mysql://user[:password]@host[:port]' })
  @InProduction(
    (url) => /^mysql:\/\/[^:@/\s]+:[^@/\s]+@/.test(String(url)),
    'must carry a password: mysql://user:password@host[:port]',
  )
  MYSQL_URL = 'mysql://root@127.0.0.1:3306';

  /** The schema to migrate. Unset: the service's default DB_NAME (the production stack's). */
  @IsOptional()
  @Matches(/^[a-z][a-z0-9_]{0,63}$/)
  DB_NAME?: string = undefined;
}
